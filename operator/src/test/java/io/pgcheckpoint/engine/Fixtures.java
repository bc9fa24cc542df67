package io.pgcheckpoint.engine;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;

/** Shared test helpers: real PostgreSQL servers from local binaries and plain SQL. */
public final class Fixtures {
    public static final PgTools TOOLS = PgTools.locate();

    private Fixtures() {
    }

    /** A real PostgreSQL with a database "app"; the tests' source of checkpoints. */
    public static LocalPostgres source(String password) {
        LocalPostgres pg = LocalPostgres.start(TOOLS, Progress.SILENT, password);
        sql(pg.target("postgres"), "CREATE DATABASE app");
        return pg;
    }

    public static void sql(DbTarget target, String sql) {
        try (Connection c = Db.connect(target)) {
            Db.execute(c, sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e.getMessage() + " in: " + sql, e);
        }
    }

    public static long count(DbTarget target, String query) {
        try (Connection c = Db.connect(target)) {
            return Db.queryLong(c, query);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Map<String, Long> ledger(Manifest m) {
        Map<String, Long> map = new HashMap<>();
        for (Ledger.Entry e : m.ledger().tables()) {
            map.put(e.display(), e.rows());
        }
        return map;
    }

    public static Sealer.Request request(DbTarget db, Store store, String tag) {
        return new Sealer.Request(db, store, tag, "4f3a9c1", "test", 1);
    }
}
