package io.pgcheckpoint.engine;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Set;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * Runs the SQL pg_restore renders for chosen entries on one JDBC connection, inside the caller's
 * transaction, statement by statement, with COPY data streamed straight through. A policy
 * decides, per statement, whether it runs, runs as an attempt (inside a savepoint, a failure
 * being reported rather than fatal), is rewritten, or is left out. Nothing here commits.
 */
final class RestoreScript {
    interface Policy {
        /** What to do with one statement of an entry (entry is null for pg_restore's preamble). */
        void statement(Toc.Entry entry, String sql, List<Sql.Token> tokens, RestoreScript run) throws SQLException;

        /** The COPY statement to run for an entry's data (possibly rewritten), or null to skip the data. */
        default String copy(Toc.Entry entry, String sql) {
            return sql;
        }
    }

    /** A statement failed where failure is not allowed: what was being restored, and PostgreSQL's words. */
    static final class Failure extends RuntimeException {
        final transient Toc.Entry entry;
        final transient SQLException cause;

        Failure(Toc.Entry entry, SQLException cause) {
            super(describe(cause), cause);
            this.entry = entry;
            this.cause = cause;
        }

        String sqlState() {
            return cause.getSQLState();
        }
    }

    private static final Pattern HEADER = Pattern.compile("^-- TOC entry (\\d+) \\(class \\d+ OID \\d+\\)$");
    static final Pattern ENCODING = Pattern.compile("(?i)^SET\\s+client_encoding\\s*=\\s*'([^']+)'\\s*;$");

    private final Connection c;
    private final Map<Integer, Long> copied = new HashMap<>();
    private Charset charset = StandardCharsets.UTF_8;
    private boolean passthrough = true;

    RestoreScript(Connection c) {
        this.c = c;
    }

    Connection connection() {
        return c;
    }

    /** Rows each TABLE DATA entry loaded. */
    Map<Integer, Long> copied() {
        return copied;
    }

    /** Streams the entries, in the given order, through the policy. */
    void run(Toc toc, List<Toc.Entry> ordered, List<String> flags, Policy policy) {
        Toc.Entry[] current = {null};
        CopyState[] copy = {null};
        Sql.Splitter splitter = new Sql.Splitter(new Sql.Splitter.Sink() {
            @Override
            public void statement(String sql) {
                try {
                    handle(current[0], sql, policy, copy);
                } catch (SQLException e) {
                    throw new Failure(current[0], e);
                }
            }

            @Override
            public void between(String line) {
                Matcher m = HEADER.matcher(line);
                if (m.matches()) {
                    current[0] = toc.byId(Integer.parseInt(m.group(1)));
                }
            }

            @Override
            public void meta(String line) {
                if (!(line.startsWith("\\restrict") || line.startsWith("\\unrestrict"))) {
                    throw new CheckpointException("restore.render", "pg_restore wrote a psql command this restore does not run ("
                            + line.split(" ")[0] + "): restore this archive with pg_restore by hand");
                }
            }
        });
        toc.stream(ordered, flags, bytes -> {
            if (copy[0] != null) {
                try {
                    copy[0].line(bytes);
                    if (copy[0].done) {
                        copy[0] = null;
                    }
                } catch (SQLException e) {
                    copy[0].abandon();
                    copy[0] = null;
                    throw new Failure(current[0], e);
                }
                return;
            }
            splitter.line(decode(bytes));
        });
        if (copy[0] != null) {
            copy[0].abandon();
            throw new CheckpointException("restore.render", "pg_restore's output ended inside the data of "
                    + label(current[0]) + ": the archive may be damaged; run pgcheckpoint drill on it");
        }
        if (!splitter.rest().isEmpty()) {
            throw new CheckpointException("restore.render", "pg_restore's output ended inside a statement of " + label(current[0]));
        }
    }

    private void handle(Toc.Entry entry, String sql, Policy policy, CopyState[] copy) throws SQLException {
        List<Sql.Token> t = Sql.tokens(sql);
        if (t.isEmpty()) {
            return;
        }
        Matcher enc = ENCODING.matcher(sql);
        if (enc.matches()) {
            useEncoding(enc.group(1));
            return;
        }
        if (t.get(0).is("SET") && t.size() > 1 && t.get(1).is("lock_timeout")) {
            return; // our own, bounded lock_timeout stays in force
        }
        if (t.get(0).is("SET") && t.size() > 1 && t.get(1).ident() != null && !settings().contains(t.get(1).ident())) {
            // a newer pg_restore's setting this older server lacks (transaction_timeout before 17):
            // it only switches off what the server does not have
            return;
        }
        if (t.get(0).is("COPY") && t.get(t.size() - 2).is("stdin")) {
            String statement = policy.copy(entry, sql);
            copy[0] = new CopyState(entry, statement == null ? null : ((PGConnection) c.unwrap(PGConnection.class))
                    .getCopyAPI().copyIn(statement));
            return;
        }
        policy.statement(entry, sql, t, this);
    }

    private Set<String> settings;

    /** The target server's setting names, read once. */
    private Set<String> settings() throws SQLException {
        if (settings == null) {
            settings = UnknownSettings.settings(c);
        }
        return settings;
    }

    /** Runs a statement; a failure ends the restore. */
    void exec(String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.setEscapeProcessing(false);
            st.execute(sql);
        }
    }

    /** Runs a statement inside a savepoint; returns its failure (rolled back to the savepoint) or null. */
    SQLException attempt(String sql) throws SQLException {
        Savepoint sp = c.setSavepoint();
        try {
            exec(sql);
            c.releaseSavepoint(sp);
            return null;
        } catch (SQLException e) {
            if (isConnectionFailure(e)) {
                throw e;
            }
            c.rollback(sp);
            return e;
        }
    }

    static boolean isConnectionFailure(SQLException e) {
        return e.getSQLState() != null && e.getSQLState().startsWith("08");
    }

    /** PostgreSQL's message with its detail and hint, on one line. */
    static String describe(SQLException e) {
        if (e instanceof PSQLException p && p.getServerErrorMessage() != null) {
            ServerErrorMessage m = p.getServerErrorMessage();
            StringBuilder s = new StringBuilder(m.getMessage() == null ? e.getMessage() : m.getMessage());
            if (m.getDetail() != null) {
                s.append(" (").append(m.getDetail()).append(')');
            }
            if (m.getHint() != null) {
                s.append("; hint: ").append(m.getHint());
            }
            return s.toString();
        }
        return e.getMessage();
    }

    static String label(Toc.Entry e) {
        return e == null ? "the script's preamble" : e.kind() + " " + e.label().replaceFirst(" [^ ]*$", "");
    }

    private String decode(byte[] bytes) {
        if (passthrough) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
        return new String(bytes, charset);
    }

    private void useEncoding(String pgName) {
        Charset cs = charsetFor(pgName);
        passthrough = cs == null;
        charset = cs == null ? StandardCharsets.UTF_8 : cs;
    }

    /** The Java charset of a PostgreSQL client encoding; null for UTF8 and SQL_ASCII, whose bytes pass through. */
    static Charset charsetFor(String pgName) {
        String name = pgName.toUpperCase(Locale.ROOT).replace("-", "_");
        if (name.equals("UTF8") || name.equals("UNICODE") || name.equals("SQL_ASCII")) {
            return null;
        }
        String java = switch (name) {
            case "LATIN1" -> "ISO-8859-1";
            case "LATIN2" -> "ISO-8859-2";
            case "LATIN3" -> "ISO-8859-3";
            case "LATIN4" -> "ISO-8859-4";
            case "LATIN5" -> "ISO-8859-9";
            case "LATIN6" -> "ISO-8859-10";
            case "LATIN7" -> "ISO-8859-13";
            case "LATIN8" -> "ISO-8859-14";
            case "LATIN9" -> "ISO-8859-15";
            case "LATIN10" -> "ISO-8859-16";
            case "ISO_8859_5" -> "ISO-8859-5";
            case "ISO_8859_6" -> "ISO-8859-6";
            case "ISO_8859_7" -> "ISO-8859-7";
            case "ISO_8859_8" -> "ISO-8859-8";
            case "WIN866" -> "IBM866";
            case "WIN874" -> "x-windows-874";
            case "KOI8R" -> "KOI8-R";
            case "KOI8U" -> "KOI8-U";
            case "EUC_JP" -> "EUC-JP";
            case "EUC_KR" -> "EUC-KR";
            case "EUC_CN" -> "GB2312";
            case "BIG5" -> "Big5";
            case "SJIS" -> "Shift_JIS";
            case "GBK" -> "GBK";
            case "GB18030" -> "GB18030";
            case "UHC" -> "x-windows-949";
            default -> name.startsWith("WIN") ? "windows-" + name.substring(3) : null;
        };
        if (java == null || !Charset.isSupported(java)) {
            throw new CheckpointException("restore.encoding", "the archive is in encoding " + pgName
                    + ", which this restore cannot convert: restore it with pg_restore by hand");
        }
        return Charset.forName(java);
    }

    /** One table's COPY: data lines go to the server in 256 KiB messages, re-encoded to UTF-8 if needed. */
    private final class CopyState {
        private final Toc.Entry entry;
        private final CopyIn in;
        private final byte[] buffer = new byte[256 * 1024];
        private int used;
        boolean done;

        CopyState(Toc.Entry entry, CopyIn in) {
            this.entry = entry;
            this.in = in;
        }

        void line(byte[] bytes) throws SQLException {
            if (bytes.length == 2 && bytes[0] == '\\' && bytes[1] == '.') {
                done = true;
                if (in != null) {
                    flush();
                    long rows = in.endCopy();
                    copied.merge(entry == null ? -1 : entry.id(), rows, Long::sum);
                }
                return;
            }
            if (in == null) {
                return;
            }
            byte[] data = passthrough ? bytes : recode(bytes);
            if (used + data.length + 1 > buffer.length) {
                flush();
            }
            if (data.length + 1 > buffer.length) {
                in.writeToCopy(data, 0, data.length);
                in.writeToCopy(new byte[] {'\n'}, 0, 1);
                return;
            }
            System.arraycopy(data, 0, buffer, used, data.length);
            used += data.length;
            buffer[used++] = '\n';
        }

        private byte[] recode(byte[] bytes) throws SQLException {
            try {
                CharBuffer chars = charset.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
                ByteBuffer out = StandardCharsets.UTF_8.encode(chars);
                byte[] result = new byte[out.remaining()];
                out.get(result);
                return result;
            } catch (CharacterCodingException e) {
                throw new SQLException("a row of " + label(entry) + " is not valid " + charset + ": " + e.getMessage());
            }
        }

        private void flush() throws SQLException {
            if (used > 0) {
                in.writeToCopy(buffer, 0, used);
                used = 0;
            }
        }

        void abandon() {
            if (in != null && in.isActive()) {
                try {
                    in.cancelCopy();
                } catch (SQLException ignored) {
                    // the transaction is rolled back anyway
                }
            }
        }
    }
}
