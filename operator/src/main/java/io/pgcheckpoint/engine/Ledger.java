package io.pgcheckpoint.engine;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The ledger: the exact row count of every relation whose data the archive holds, taken in
 * the dump's own snapshot. Counted, and why (see docs/ledger.md):
 * <ul>
 * <li>ordinary tables, including unlogged ones, leaf partitions and inheritance children, each
 *     counted with {@code SELECT count(*) FROM ONLY}, so a row is counted once, in the relation
 *     that stores it (partitioned parents store nothing and are not listed);</li>
 * <li>populated materialized views (pg_restore refreshes them, so their count must come back);</li>
 * <li>large objects, as one separate item.</li>
 * </ul>
 * Not counted, because pg_dump does not dump their data: foreign tables, temporary tables,
 * unpopulated materialized views, tables that belong to an extension, system schemas.
 */
public final class Ledger {
    private Ledger() {
    }

    public record Entry(String schema, String name, String kind, long rows) {
        public String qualifiedName() {
            return Db.qualified(schema, name);
        }

        public boolean isMaterializedView() {
            return "materialized view".equals(kind);
        }

        /** schema.name as people write it, for messages. */
        public String display() {
            return schema + "." + name;
        }
    }

    /**
     * A relation found in the catalog: what the ledger counts, what the seal locks and what the
     * privilege and row-level security checks need.
     */
    public record Relation(long oid, String schema, String name, char relkind, String kind, boolean populated,
                           boolean rowSecurity, boolean forceRowSecurity, boolean ownedByCurrentRole,
                           boolean schemaUsage, boolean canSelect) {
        public String qualifiedName() {
            return Db.qualified(schema, name);
        }

        public String display() {
            return schema + "." + name;
        }

        /** Its rows are in the archive and in the ledger: tables, and materialized views that hold data. */
        public boolean counted() {
            return relkind == 'r' || (relkind == 'm' && populated);
        }

        /** LOCK TABLE takes tables and partitioned tables (not materialized views, sequences). */
        public boolean lockable() {
            return relkind == 'r' || relkind == 'p';
        }
    }

    /**
     * Every relation pg_dump would dump data of or lock: tables, partitioned tables, materialized
     * views and sequences outside system schemas, extensions and other sessions' temporary space.
     * In OID order, the order pg_dump locks in.
     */
    private static final String RELATIONS = """
            SELECT c.oid, n.nspname, c.relname, c.relkind,
                   CASE WHEN c.relkind = 'm' THEN 'materialized view'
                        WHEN c.relkind = 'p' THEN 'partitioned table'
                        WHEN c.relkind = 'S' THEN 'sequence'
                        WHEN c.relispartition THEN 'partition'
                        WHEN EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) THEN 'inheritance child'
                        ELSE 'table' END,
                   c.relispopulated, c.relrowsecurity, c.relforcerowsecurity, pg_has_role(c.relowner, 'USAGE'),
                   has_schema_privilege(n.oid, 'USAGE'), has_table_privilege(c.oid, 'SELECT')
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'm', 'S')
               AND c.relpersistence <> 't'
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
             ORDER BY c.oid
            """;

    /** Every relation of interest, as the connection's current snapshot sees it, minus exclusions. */
    public static List<Relation> relations(Connection c, Exclusions exclusions) throws SQLException {
        List<Relation> result = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(RELATIONS); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                // a null privilege means the relation was dropped while the catalog was read
                if (exclusions.excludes(rs.getString(2), rs.getString(3)) || rs.getObject(10) == null || rs.getObject(11) == null) {
                    continue;
                }
                result.add(new Relation(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4).charAt(0),
                        rs.getString(5), rs.getBoolean(6), rs.getBoolean(7), rs.getBoolean(8), rs.getBoolean(9),
                        rs.getBoolean(10), rs.getBoolean(11)));
            }
        }
        return result;
    }

    /** The relations whose rows the ledger counts, sorted by name as the manifest lists them. */
    public static List<Relation> counted(List<Relation> relations) {
        return relations.stream().filter(Relation::counted)
                .sorted(java.util.Comparator.comparing(Relation::schema).thenComparing(Relation::name))
                .toList();
    }

    public static long count(Connection c, String schema, String name) throws SQLException {
        return Db.queryLong(c, "SELECT count(*) FROM ONLY " + Db.qualified(schema, name));
    }

    public static long largeObjects(Connection c) throws SQLException {
        return Db.queryLong(c, "SELECT count(*) FROM pg_largeobject_metadata");
    }

    /** Counts every relation on one connection, in whatever snapshot its transaction holds. */
    public static List<Entry> countAll(Connection c, List<Relation> relations, Progress progress) throws SQLException {
        List<Entry> entries = new ArrayList<>(relations.size());
        long lastReport = System.nanoTime();
        for (int i = 0; i < relations.size(); i++) {
            Relation r = relations.get(i);
            entries.add(new Entry(r.schema(), r.name(), r.kind(), count(c, r.schema(), r.name())));
            if (System.nanoTime() - lastReport > 5_000_000_000L) {
                progress.step("counted " + (i + 1) + " of " + relations.size() + " tables");
                lastReport = System.nanoTime();
            }
        }
        return entries;
    }
}
