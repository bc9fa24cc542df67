package io.pgcheckpoint.engine;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Drops the {@code SET name = value;} lines, outside COPY data, whose setting the target server
 * does not have: a newer pg_restore writes settings at the top of its output that an older
 * server rejects (pg_restore 17+ sets {@code transaction_timeout}, which PostgreSQL 13-16 do
 * not know), and with ON_ERROR_STOP one of them would roll the whole restore back. Such a
 * setting only switches off something the older server does not have.
 */
final class UnknownSettings implements java.util.function.UnaryOperator<String> {
    private static final Pattern SET = Pattern.compile("^SET ([a-z_]+) = .*;$");
    private final Set<String> known;
    private boolean inCopyData;

    UnknownSettings(DbTarget target) {
        this(settings(target));
    }

    UnknownSettings(Set<String> known) {
        this.known = known;
    }

    private static Set<String> settings(DbTarget target) {
        try (Connection c = Db.connect(target)) {
            return settings(c);
        } catch (SQLException e) {
            throw new CheckpointException("database.error", "reading the settings of " + target.describe() + " failed: "
                    + e.getMessage(), e);
        }
    }

    /** The names of the server's settings (pg_settings). */
    static Set<String> settings(Connection c) throws SQLException {
        try (var st = c.createStatement(); var rs = st.executeQuery("SELECT name FROM pg_catalog.pg_settings")) {
            Set<String> names = new java.util.HashSet<>();
            while (rs.next()) {
                names.add(rs.getString(1));
            }
            return names;
        }
    }

    @Override
    public String apply(String line) {
        if (inCopyData) {
            inCopyData = !line.equals("\\.");
            return line;
        }
        if (line.startsWith("COPY ") && line.endsWith(" FROM stdin;")) {
            inCopyData = true;
            return line;
        }
        Matcher m = SET.matcher(line);
        return m.matches() && !known.contains(m.group(1)) ? "-- (not on this server) " + line : line;
    }
}

