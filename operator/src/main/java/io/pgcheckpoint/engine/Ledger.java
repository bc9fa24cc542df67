package io.pgcheckpoint.engine;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The ledger: the exact row count of every table whose data the archive holds, taken in the
 * dump's own snapshot, with the table locked before that snapshot existed. Counted, and why
 * (see docs/ledger.md):
 * <ul>
 * <li>ordinary tables, including unlogged ones, leaf partitions and inheritance children, each
 *     counted with {@code SELECT count(*) FROM ONLY}, so a row is counted once, in the relation
 *     that stores it (partitioned parents store nothing and are not listed);</li>
 * <li>extension configuration tables (pg_extension_config_dump), whose rows pg_dump dumps with the
 *     extension's own filter: counted with that filter;</li>
 * <li>large objects, as one separate item.</li>
 * </ul>
 * Populated materialized views are listed, not counted: the archive holds no view rows, the
 * restore refreshes them, and the drill checks they come back populated. Not in the ledger,
 * because pg_dump does not dump their data: foreign tables, temporary tables, other tables that
 * belong to an extension, system schemas.
 */
public final class Ledger {
    private Ledger() {
    }

    /**
     * @param filter for an extension configuration table, the WHERE clause pg_dump dumps its rows
     *               with (from pg_extension.extcondition); null otherwise
     */
    public record Entry(String schema, String name, String kind, long rows, String filter) {
        public Entry(String schema, String name, String kind, long rows) {
            this(schema, name, kind, rows, null);
        }

        public String qualifiedName() {
            return Db.qualified(schema, name);
        }

        /** Manifests before format 2 listed populated materialized views with their stored rows. */
        public boolean isMaterializedView() {
            return "materialized view".equals(kind);
        }

        /** schema.name as people write it, for messages. */
        public String display() {
            return schema + "." + name;
        }
    }

    /** A populated materialized view: the drill checks that the restore refreshed it. */
    public record View(String schema, String name) {
        public String display() {
            return schema + "." + name;
        }
    }

    /**
     * A relation found in the catalog: what the ledger counts, what the seal locks and what the
     * privilege and row-level security checks need. Privileges are null when the relation was
     * dropped while the catalog was read.
     */
    public record Relation(long oid, String schema, String name, char relkind, String kind, boolean populated,
                           boolean rowSecurity, boolean forceRowSecurity, boolean ownedByCurrentRole,
                           Boolean schemaUsage, Boolean canSelect, String filter) {
        public String qualifiedName() {
            return Db.qualified(schema, name);
        }

        public String display() {
            return schema + "." + name;
        }

        /** Its rows are in the archive and in the ledger: tables (and extension configuration tables). */
        public boolean counted() {
            return relkind == 'r';
        }

        /** A materialized view whose refresh the drill checks. */
        public boolean populatedView() {
            return relkind == 'm' && populated;
        }

        /** LOCK TABLE takes tables and partitioned tables (not materialized views, sequences). */
        public boolean lockable() {
            return relkind == 'r' || relkind == 'p';
        }

        boolean vanished() {
            return schemaUsage == null || canSelect == null;
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
                        WHEN x.extcondition IS NOT NULL THEN 'extension config'
                        WHEN c.relispartition THEN 'partition'
                        WHEN EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) THEN 'inheritance child'
                        ELSE 'table' END,
                   c.relispopulated, c.relrowsecurity, c.relforcerowsecurity, pg_has_role(c.relowner, 'USAGE'),
                   has_schema_privilege(n.oid, 'USAGE'), has_table_privilege(c.oid, 'SELECT'), x.extcondition
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN LATERAL (SELECT coalesce(e.extcondition[array_position(e.extconfig, c.oid)], '') AS extcondition
                                   FROM pg_extension e WHERE c.oid = ANY (e.extconfig) LIMIT 1) x ON true
             WHERE c.relkind IN ('r', 'p', 'm', 'S')
               AND c.relpersistence <> 't'
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
               AND (x.extcondition IS NOT NULL
                    OR NOT EXISTS (SELECT 1 FROM pg_depend d
                                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))
             ORDER BY c.oid
            """;

    /**
     * Every relation of interest, as the connection's current snapshot sees it, minus exclusions.
     * With {@code dropVanished}, relations dropped while the catalog was read are left out (a
     * listing before locking); without it they stay, so the check against the locks sees them.
     */
    public static List<Relation> relations(Connection c, Exclusions exclusions, boolean dropVanished) throws SQLException {
        List<Relation> result = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(RELATIONS); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                if (exclusions.excludes(rs.getString(2), rs.getString(3))) {
                    continue;
                }
                Relation r = new Relation(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4).charAt(0),
                        rs.getString(5), rs.getBoolean(6), rs.getBoolean(7), rs.getBoolean(8), rs.getBoolean(9),
                        (Boolean) rs.getObject(10), (Boolean) rs.getObject(11), blankToNull(rs.getString(12)));
                if (!(dropVanished && r.vanished())) {
                    result.add(r);
                }
            }
        }
        return result;
    }

    public static List<Relation> relations(Connection c, Exclusions exclusions) throws SQLException {
        return relations(c, exclusions, true);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    /** The populated materialized views, by name. */
    public static List<View> views(List<Relation> relations) {
        return relations.stream().filter(Relation::populatedView)
                .sorted(java.util.Comparator.comparing(Relation::schema).thenComparing(Relation::name))
                .map(r -> new View(r.schema(), r.name())).toList();
    }

    /** The relations whose rows the ledger counts, sorted by name as the manifest lists them. */
    public static List<Relation> counted(List<Relation> relations) {
        return relations.stream().filter(Relation::counted)
                .sorted(java.util.Comparator.comparing(Relation::schema).thenComparing(Relation::name))
                .toList();
    }

    public static long count(Connection c, String schema, String name) throws SQLException {
        return count(c, schema, name, null);
    }

    /** {@code count(*) FROM ONLY} the relation, with an extension configuration table's own filter. */
    public static long count(Connection c, String schema, String name, String filter) throws SQLException {
        return Db.queryLong(c, "SELECT count(*) FROM ONLY " + Db.qualified(schema, name) + (filter == null ? "" : " " + filter));
    }

    public static long largeObjects(Connection c) throws SQLException {
        return Db.queryLong(c, "SELECT count(*) FROM pg_largeobject_metadata");
    }

    /**
     * Counts every relation on one connection, in whatever snapshot its transaction holds;
     * {@code check} runs before each count, so a seal told to stop stops between two tables.
     */
    public static List<Entry> countAll(Connection c, List<Relation> relations, Progress progress, Runnable check)
            throws SQLException {
        List<Entry> entries = new ArrayList<>(relations.size());
        long lastReport = System.nanoTime();
        for (int i = 0; i < relations.size(); i++) {
            check.run();
            Relation r = relations.get(i);
            entries.add(new Entry(r.schema(), r.name(), r.kind(), count(c, r.schema(), r.name(), r.filter()), r.filter()));
            if (System.nanoTime() - lastReport > 5_000_000_000L) {
                progress.step("counted " + (i + 1) + " of " + relations.size() + " tables");
                lastReport = System.nanoTime();
            }
        }
        return entries;
    }
}
