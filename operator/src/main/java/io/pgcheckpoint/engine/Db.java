package io.pgcheckpoint.engine;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.net.ssl.SSLException;

/** JDBC connections with failures translated into what the user should check. */
public final class Db {
    public static final int CONNECT_TIMEOUT_SECONDS = 10;

    private Db() {
    }

    public static Connection connect(DbTarget target) {
        try {
            return DriverManager.getConnection(target.jdbcUrl(), target.jdbcProperties(CONNECT_TIMEOUT_SECONDS));
        } catch (SQLException e) {
            throw classify(target, e);
        }
    }

    /**
     * Connects, waiting while the server is still starting (refused, or "starting up"): a drill's
     * sidecar server boots while the archive downloads.
     */
    public static Connection connectWaiting(DbTarget target, java.time.Duration patience, Progress progress) {
        long deadline = System.nanoTime() + patience.toNanos();
        boolean told = false;
        while (true) {
            try {
                return DriverManager.getConnection(target.jdbcUrl(), target.jdbcProperties(CONNECT_TIMEOUT_SECONDS));
            } catch (SQLException e) {
                CheckpointException failure = classify(target, e);
                boolean starting = failure.code().equals("connection.refused") || "57P03".equals(e.getSQLState());
                if (!starting || System.nanoTime() > deadline) {
                    throw starting ? new CheckpointException("drill.server", "the drill server " + target.describe()
                            + " did not accept connections within " + patience.toSeconds() + "s: check its image and its log", e)
                            : failure;
                }
                if (!told) {
                    progress.step("waiting for " + target.describe() + " to accept connections");
                    told = true;
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw failure;
                }
            }
        }
    }

    /** Names the kind of failure: DNS, refused, unreachable, TLS, authentication, missing database. */
    static CheckpointException classify(DbTarget target, SQLException e) {
        String where = target.describe();
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof UnknownHostException) {
                return new CheckpointException("connection.dns", "cannot resolve host '" + target.host()
                        + "' (DNS) for " + where + ": check the host name in the connection URI or Secret", e);
            }
            if (c instanceof ConnectException) {
                return new CheckpointException("connection.refused", "connection refused by " + target.host() + ":"
                        + target.port() + " for " + where + ": is PostgreSQL running and listening on that address and port?", e);
            }
            if (c instanceof NoRouteToHostException || c instanceof SocketTimeoutException) {
                return new CheckpointException("connection.unreachable", "host " + target.host() + ":" + target.port()
                        + " did not answer within " + CONNECT_TIMEOUT_SECONDS + "s for " + where
                        + ": check network policies, firewalls and the host address", e);
            }
            if (c instanceof SSLException) {
                return new CheckpointException("connection.tls", "TLS handshake with " + target.host() + " failed ("
                        + c.getMessage() + ") for " + where + ": check sslmode and the server's certificate", e);
            }
        }
        if (state.equals("28P01") || state.equals("28000")) {
            return new CheckpointException("connection.auth", "authentication failed for user '" + target.user()
                    + "' at " + where + " (" + e.getMessage() + "): check the user and password in the connection URI or Secret", e);
        }
        if (state.equals("3D000")) {
            return new CheckpointException("connection.no-database", "database '" + target.database()
                    + "' does not exist at " + target.host() + ":" + target.port() + ": check the database name", e);
        }
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        if (message.contains("SSL") || message.contains("ssl")) {
            return new CheckpointException("connection.tls", "TLS problem connecting to " + where + ": " + message
                    + ": check sslmode (the server may not offer TLS, or require it)", e);
        }
        return new CheckpointException("connection.failed", "cannot connect to " + where + ": " + message, e);
    }

    /** An identifier for DDL, quoted by pgjdbc's own escaping (which also refuses a NUL character). */
    public static String quoteIdent(String name) {
        try {
            return org.postgresql.core.Utils.escapeIdentifier(new StringBuilder(), name).toString();
        } catch (SQLException e) {
            throw new CheckpointException("usage.identifier", "invalid identifier: " + e.getMessage(), e);
        }
    }

    public static String qualified(String schema, String name) {
        return quoteIdent(schema) + "." + quoteIdent(name);
    }

    public static String quoteLiteral(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    /** One value from a query whose values are bind parameters, never spliced into its text. */
    public static String queryString(Connection c, String sql, String... params) throws SQLException {
        try (java.sql.PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                st.setString(i + 1, params[i]);
            }
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    public static String queryString(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    public static long queryLong(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    public static void execute(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /**
     * Clears the timeouts a role or server may impose, as pg_dump does for its own session: a
     * checkpoint's statements are long by nature and bounded by the seal's own limits instead.
     * Only the settings this server knows (idle_session_timeout is 14+, transaction_timeout 17+).
     */
    public static void clearTimeouts(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT set_config(name, '0', false) FROM pg_settings
                 WHERE name IN ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout',
                                'idle_session_timeout', 'transaction_timeout')
                """)) {
            while (rs.next()) {
                // each row is one setting cleared
            }
        }
    }

    /** server_version_num / 10000, e.g. 15 for 15.8. */
    public static int serverMajor(Connection c) throws SQLException {
        return (int) (queryLong(c, "SHOW server_version_num") / 10000);
    }
}
