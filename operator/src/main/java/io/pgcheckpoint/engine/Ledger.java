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

        /** schema.name as people write it, for messages. */
        public String display() {
            return schema + "." + name;
        }
    }

    /** A relation found in the catalog, with what the RLS check needs. */
    public record Relation(String schema, String name, String kind, boolean rowSecurity, boolean forceRowSecurity,
                           boolean ownedByCurrentRole) {
        public String qualifiedName() {
            return Db.qualified(schema, name);
        }
    }

    private static final String RELATIONS = """
            SELECT n.nspname, c.relname,
                   CASE WHEN c.relkind = 'm' THEN 'materialized view'
                        WHEN c.relispartition THEN 'partition'
                        WHEN EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) THEN 'inheritance child'
                        ELSE 'table' END,
                   c.relrowsecurity, c.relforcerowsecurity, pg_has_role(c.relowner, 'USAGE')
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'm')
               AND c.relpersistence <> 't'
               AND (c.relkind <> 'm' OR c.relispopulated)
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
             ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"
            """;

    public static List<Relation> relations(Connection c, Exclusions exclusions) throws SQLException {
        List<Relation> result = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(RELATIONS); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                if (exclusions.excludes(rs.getString(1), rs.getString(2))) {
                    continue;
                }
                result.add(new Relation(rs.getString(1), rs.getString(2), rs.getString(3),
                        rs.getBoolean(4), rs.getBoolean(5), rs.getBoolean(6)));
            }
        }
        return result;
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
