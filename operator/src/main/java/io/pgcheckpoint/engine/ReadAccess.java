package io.pgcheckpoint.engine;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Whether the connected role can read every row that a checkpoint holds, checked before
 * anything is dumped or counted: a count that is silently short, or a dump that fails halfway,
 * is worse than a clear refusal that says what to grant or exclude.
 */
final class ReadAccess {
    private static final int NAMED = 8;

    private ReadAccess() {
    }

    /**
     * Schemas without USAGE and relations without SELECT: pg_dump reads every table and
     * sequence it dumps, and the ledger counts every table. Managed services (Supabase, RDS,
     * Cloud SQL, Neon) keep platform schemas the application's role cannot read.
     */
    static void refuseUnreadable(Connection c, List<Ledger.Relation> relations) throws SQLException {
        Map<String, Integer> schemas = new LinkedHashMap<>();
        List<String> tables = new ArrayList<>();
        List<String> tableNames = new ArrayList<>();
        for (Ledger.Relation r : relations) {
            if (r.relkind() == 'p' || r.relkind() == 'm') {
                continue; // nothing of theirs is read: partitioned tables store no rows, views are refreshed on restore
            }
            if (Boolean.FALSE.equals(r.schemaUsage())) {
                schemas.merge(r.schema(), 1, Integer::sum);
            } else if (Boolean.FALSE.equals(r.canSelect())) {
                tables.add(r.display());
                tableNames.add(TableNames.join(r.schema(), r.name()));
            }
        }
        if (schemas.isEmpty() && tables.isEmpty()) {
            return;
        }
        String user = Db.queryString(c, "SELECT current_user");
        List<String> what = new ArrayList<>();
        schemas.forEach((schema, n) -> what.add("schema " + schema + " (" + n + " relation" + (n == 1 ? "" : "s") + ", no USAGE)"));
        tables.forEach(t -> what.add(t + " (no SELECT)"));
        List<String> flags = new ArrayList<>();
        schemas.keySet().forEach(s -> flags.add("--exclude-schema " + TableNames.shellWord(s)));
        tableNames.forEach(t -> flags.add("--exclude-table " + TableNames.shellWord(t)));
        throw new CheckpointException("database.unreadable", "role '" + user + "' cannot read " + what.size()
                + " thing(s) a checkpoint would dump: " + firstFew(what) + ". Nothing was dumped. Exclude them ("
                + firstFew(flags) + "; on a Database: spec.dump.excludeSchemas " + schemas.keySet()
                + " and excludeTables " + tableNames + "), or GRANT the role USAGE on those schemas and SELECT on those "
                + "tables and sequences (see docs/ledger.md, managed PostgreSQL)");
    }

    /**
     * Row-level security would make a non-bypassing role's counts short; the session runs with
     * {@code row_security = off}, so PostgreSQL would refuse mid-way instead. Refuse first, naming
     * the tables. Superusers, BYPASSRLS roles and table owners (unless FORCE) see every row.
     */
    static void refuseHiddenRows(Connection c, List<Ledger.Relation> relations) throws SQLException {
        if (Db.queryString(c, "SELECT (rolsuper OR rolbypassrls)::text FROM pg_roles WHERE rolname = current_user").equals("true")) {
            return;
        }
        List<String> hidden = new ArrayList<>();
        for (Ledger.Relation r : relations) {
            if (r.counted() && r.rowSecurity() && (!r.ownedByCurrentRole() || r.forceRowSecurity())) {
                hidden.add(r.display());
            }
        }
        if (!hidden.isEmpty()) {
            String user = Db.queryString(c, "SELECT current_user");
            throw new CheckpointException("database.row-security", "role '" + user + "' cannot see every row of "
                    + hidden.size() + " table(s) with row-level security (" + firstFew(hidden)
                    + "), so its counts would lie: run as the tables' owner (without FORCE ROW LEVEL SECURITY) "
                    + "or grant BYPASSRLS (ALTER ROLE " + Db.quoteIdent(user) + " BYPASSRLS)");
        }
    }

    private static String firstFew(List<String> items) {
        return String.join(", ", items.subList(0, Math.min(NAMED, items.size())))
                + (items.size() > NAMED ? ", and " + (items.size() - NAMED) + " more" : "");
    }
}
