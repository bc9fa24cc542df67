package io.pgcheckpoint.engine;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Where a PostgreSQL database is, parsed once from a libpq URI
 * ({@code postgresql://user:secret@host:5432/db?sslmode=require}) or from the usual
 * PG* environment variables. The same target feeds JDBC (ledger, counts) and the
 * libpq tools (pg_dump, pg_restore, psql) through their environment, so the password
 * never appears on a command line.
 */
public record DbTarget(String host, int port, String user, String password, String database,
                       String sslmode, Map<String, String> options) {

    /**
     * Parses a libpq URI. A password (or user name, or database name) should be percent-encoded;
     * where it is not, the URI is read the way that makes sense of it: base64 and generated
     * passwords often hold a raw {@code /}, {@code @}, {@code +}, {@code =}, {@code ?} or {@code #}.
     * {@code +} is a plus, never a space. No message ever shows any part of the user name or password.
     */
    public static DbTarget parse(String uri, Map<String, String> env) {
        if (uri == null || uri.isBlank()) {
            return fromEnv(env);
        }
        String rest;
        if (uri.startsWith("postgresql://")) {
            rest = uri.substring("postgresql://".length());
        } else if (uri.startsWith("postgres://")) {
            rest = uri.substring("postgres://".length());
        } else {
            throw new CheckpointException("usage.db-uri", redact(uri).equals("***")
                    ? "the database connection must be a URI such as postgresql://user:password@host:5432/dbname"
                            + " (keyword=value strings are not supported; PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE work too)"
                    : "database URI must look like postgresql://user:password@host:5432/dbname, got '" + redact(uri) + "'");
        }
        UriReading r = UriReading.choose(rest);
        String user = null;
        String password = null;
        if (r.userinfo != null) {
            int colon = r.userinfo.indexOf(':');
            user = decode(colon < 0 ? r.userinfo : r.userinfo.substring(0, colon), "user name");
            if (colon >= 0) {
                password = decode(r.userinfo.substring(colon + 1), "password");
            }
        }
        String host = decode(r.host, "host");
        Integer port = r.port;
        String database = r.path == null ? null : decode(r.path, "database name");
        Map<String, String> options = new LinkedHashMap<>();
        String sslmode = null;
        for (String[] pair : r.pairs) {
            String key = pair[0];
            String value = decode(pair[1], UriReading.LIBPQ_KEYWORDS.contains(key) ? "value of '" + key + "'" : "query");
            switch (key) {
                case "sslmode" -> sslmode = value;
                case "user" -> user = value;
                case "password" -> password = value;
                case "host" -> host = value;
                case "port" -> port = parsePort(value);
                case "dbname" -> database = value;
                default -> options.put(key, value);
            }
        }
        DbTarget fallback = fromEnv(env);
        return new DbTarget(
                host == null || host.isEmpty() ? fallback.host : host,
                port == null ? fallback.port : port,
                user == null || user.isEmpty() ? fallback.user : user,
                // as in libpq, an empty password is no password
                password == null || password.isEmpty() ? fallback.password : password,
                database == null || database.isEmpty() ? fallback.database : database,
                sslmode == null ? fallback.sslmode : sslmode,
                Map.copyOf(options)).validated();
    }

    /**
     * One way to split what follows {@code postgresql://} into userinfo, host and port, database
     * and query, given which {@code @} (if any) ends the userinfo.
     *
     * <p>libpq ends the userinfo at the first {@code @} if it comes before the first {@code /},
     * so an unencoded {@code /} or {@code @} in a password makes libpq read part of the password
     * as a host or port. Here every possible {@code @} is tried: libpq's reading first, then
     * the others left to right. The first <em>clean</em> reading wins (valid host and port,
     * only libpq query keywords, no {@code /} in the database name), else the first valid one.
     * When none is valid, the reason given is that of the reading that splits at the
     * <em>last</em> {@code @}: everything it shows comes from after that {@code @}, where no
     * userinfo can be.
     */
    private static final class UriReading {
        /** libpq connection keywords (PostgreSQL 13-18) that may appear in a URI's query. */
        static final Set<String> LIBPQ_KEYWORDS = Set.of(
                "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "require_auth", "channel_binding",
                "connect_timeout", "client_encoding", "options", "application_name", "fallback_application_name",
                "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                "replication", "gssencmode", "sslmode", "sslnegotiation", "requiressl", "sslcompression", "sslcert",
                "sslkey", "sslpassword", "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer",
                "ssl_min_protocol_version", "ssl_max_protocol_version", "min_protocol_version", "max_protocol_version",
                "krbsrvname", "gsslib", "gssdelegation", "service", "target_session_attrs", "load_balance_hosts",
                "ssl");
        private static final Pattern HOST = Pattern.compile("(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})*");
        private static final Pattern IPV6 = Pattern.compile("[0-9A-Za-z:._%-]+");
        private static final Pattern KEY = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
        private static final String HINT = "; percent-encode special characters in the user name and password"
                + " (e.g. '/' as %2F, '@' as %40, '%' as %25): postgresql://user:password@host:5432/dbname";

        final String userinfo;
        String host = "";
        Integer port;
        String path;
        final List<String[]> pairs = new ArrayList<>();
        String problem;
        boolean clean;

        /** @param at index of the '@' ending the userinfo, or -1 for none */
        private UriReading(String rest, int at) {
            userinfo = at < 0 ? null : rest.substring(0, at);
            int end = at + 1;
            while (end < rest.length() && rest.charAt(end) != '/' && rest.charAt(end) != '?') {
                end++;
            }
            String hostport = rest.substring(at + 1, end);
            String query = null;
            if (end < rest.length() && rest.charAt(end) == '/') {
                int q = rest.indexOf('?', end + 1);
                path = q < 0 ? rest.substring(end + 1) : rest.substring(end + 1, q);
                query = q < 0 ? null : rest.substring(q + 1);
            } else if (end < rest.length()) {
                query = rest.substring(end + 1);
            }
            // With no '@' at all, what stands where a port goes may be a password whose '@host' was forgotten.
            boolean mayShow = rest.indexOf('@', at + 1) < 0 && at >= 0;
            String portText = null;
            if (hostport.indexOf('@') >= 0) {
                problem = "'@' in the host part of the database URI";
            } else if (hostport.indexOf(',') >= 0) {
                problem = "multi-host database URIs are not supported; name the primary's host only";
            } else if (hostport.startsWith("[")) {
                int close = hostport.indexOf(']');
                if (close < 0 || !IPV6.matcher(hostport.substring(1, close)).matches()) {
                    problem = "invalid IPv6 address in the database URI (write it as [::1])";
                } else {
                    host = hostport.substring(1, close);
                    String after = hostport.substring(close + 1);
                    if (after.startsWith(":")) {
                        portText = after.substring(1);
                    } else if (!after.isEmpty()) {
                        problem = "unexpected text after the IPv6 address in the database URI (expected ':port')";
                    }
                }
            } else {
                int colon = hostport.indexOf(':');
                host = colon < 0 ? hostport : hostport.substring(0, colon);
                portText = colon < 0 ? null : hostport.substring(colon + 1);
                if (!HOST.matcher(host).matches()) {
                    problem = mayShow ? "invalid host name '" + host + "' in database URI" : "invalid host name in the database URI";
                }
            }
            if (problem == null && portText != null && !portText.isEmpty()) {
                port = portNumber(portText);
                if (port == null) {
                    problem = mayShow ? "invalid port '" + portText + "' in database URI"
                            : "the database URI has no '@host' and what follows the host is not a port number (1-65535)";
                }
            }
            boolean libpqKeysOnly = true;
            if (query != null) {
                for (String pair : query.split("&")) {
                    if (pair.isEmpty()) {
                        continue;
                    }
                    int eq = pair.indexOf('=');
                    String key = eq < 0 ? pair : pair.substring(0, eq);
                    if (eq <= 0 || !KEY.matcher(key).matches()) {
                        if (problem == null) {
                            problem = "invalid query parameter in the database URI (expected key=value, e.g. ?sslmode=require)";
                        }
                        continue;
                    }
                    libpqKeysOnly &= LIBPQ_KEYWORDS.contains(key);
                    pairs.add(new String[] {key, pair.substring(eq + 1)});
                }
            }
            clean = problem == null && libpqKeysOnly && (path == null || path.indexOf('/') < 0)
                    // "user:12/x@h" reads better as a password "12/x" than as port 12 and database "x@h"
                    && !(userinfo == null && portText != null && path != null && path.indexOf('@') >= 0);
        }

        static UriReading choose(String rest) {
            int firstAt = rest.indexOf('@');
            int firstSlash = rest.indexOf('/');
            boolean libpqUserinfo = firstAt >= 0 && (firstSlash < 0 || firstAt < firstSlash);
            List<UriReading> readings = new ArrayList<>();
            readings.add(new UriReading(rest, libpqUserinfo ? firstAt : -1));
            for (int at = rest.indexOf('@'); at >= 0; at = rest.indexOf('@', at + 1)) {
                if (!(libpqUserinfo && at == firstAt)) {
                    readings.add(new UriReading(rest, at));
                }
            }
            for (UriReading r : readings) {
                if (r.clean) {
                    return r;
                }
            }
            for (UriReading r : readings) {
                if (r.problem == null) {
                    return r;
                }
            }
            // the last reading splits at the last '@' (or at none when there is none): its reason shows no userinfo
            String problem = readings.get(readings.size() - 1).problem;
            throw new CheckpointException("usage.db-uri", problem + (problem.startsWith("multi-host") ? "" : HINT));
        }
    }

    public static DbTarget fromEnv(Map<String, String> env) {
        String user = env.getOrDefault("PGUSER", System.getProperty("user.name", "postgres"));
        return new DbTarget(
                env.getOrDefault("PGHOST", "localhost"),
                env.containsKey("PGPORT") ? parsePort(env.get("PGPORT")) : 5432,
                user,
                env.get("PGPASSWORD"),
                env.getOrDefault("PGDATABASE", user),
                env.getOrDefault("PGSSLMODE", "prefer"),
                Map.of()).validated();
    }

    private DbTarget validated() {
        if (!java.util.Set.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full").contains(sslmode)) {
            throw new CheckpointException("usage.db-uri", "unknown sslmode '" + sslmode
                    + "': use disable, allow, prefer, require, verify-ca or verify-full");
        }
        return this;
    }

    public DbTarget withDatabase(String name) {
        return new DbTarget(host, port, user, password, name, sslmode, options);
    }

    /**
     * A host that starts with '/' is, as in libpq, the directory of the server's Unix socket
     * ({@code postgresql://user@/db?host=/var/run/postgresql}): the tools use it through libpq,
     * JDBC through {@link UnixSocketFactory}. TLS does not apply to a Unix socket.
     */
    public boolean isUnixSocket() {
        return host.startsWith("/");
    }

    public String jdbcUrl() {
        String h = isUnixSocket() ? "localhost" : host.contains(":") ? "[" + host + "]" : host;
        return "jdbc:postgresql://" + h + ":" + port + "/"
                + java.net.URLEncoder.encode(database, StandardCharsets.UTF_8).replace("+", "%20");
    }

    public Properties jdbcProperties(int connectTimeoutSeconds) {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) {
            p.setProperty("password", password);
        }
        p.setProperty("sslmode", isUnixSocket() ? "disable" : sslmode);
        if (isUnixSocket()) {
            p.setProperty("socketFactory", UnixSocketFactory.class.getName());
            p.setProperty(UnixSocketFactory.ARG, UnixSocketFactory.socketFile(host, port).toString());
        }
        p.setProperty("connectTimeout", Integer.toString(connectTimeoutSeconds));
        p.setProperty("ApplicationName", "pgcheckpoint");
        // A server error's DETAIL can quote row values (a duplicate key's email): keep them out of messages.
        p.setProperty("logServerErrorDetail", "false");
        for (Map.Entry<String, String> e : options.entrySet()) {
            switch (e.getKey()) {
                case "sslrootcert", "sslcert", "sslkey", "sslpassword" -> p.setProperty(e.getKey(), e.getValue());
                default -> { } // libpq-only options are still passed to the tools below
            }
        }
        return p;
    }

    /** Environment for libpq tools: everything they need, so no secret is on a command line. */
    public Map<String, String> libpqEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PGHOST", host);
        env.put("PGPORT", Integer.toString(port));
        env.put("PGUSER", user);
        env.put("PGDATABASE", database);
        env.put("PGSSLMODE", sslmode);
        env.put("PGAPPNAME", "pgcheckpoint");
        if (password != null) {
            env.put("PGPASSWORD", password);
        }
        for (Map.Entry<String, String> e : options.entrySet()) {
            switch (e.getKey()) {
                case "sslrootcert" -> env.put("PGSSLROOTCERT", e.getValue());
                case "sslcert" -> env.put("PGSSLCERT", e.getValue());
                case "sslkey" -> env.put("PGSSLKEY", e.getValue());
                case "connect_timeout" -> env.put("PGCONNECT_TIMEOUT", e.getValue());
                case "options" -> env.put("PGOPTIONS", e.getValue());
                default -> { }
            }
        }
        return env;
    }

    /** What to show people and logs: never the password. User and database are percent-encoded where needed. */
    public String describe() {
        if (isUnixSocket()) {
            return "postgresql://" + encode(user) + "@/" + encode(database) + "?host=" + host + (port == 5432 ? "" : "&port=" + port);
        }
        return "postgresql://" + encode(user) + "@" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/" + encode(database);
    }

    @Override
    public String toString() {
        return describe();
    }

    /**
     * A URI as it may be shown when it cannot be parsed: everything from the scheme to the
     * last {@code @} (where any userinfo ends) and every {@code password=} value become {@code ***};
     * something that is not a URI at all (e.g. a keyword=value string) is not shown.
     */
    public static String redact(String uri) {
        int scheme = uri.indexOf("://");
        if (scheme <= 0 || !uri.substring(0, scheme).matches("[A-Za-z][A-Za-z0-9+.-]*")) {
            return "***";
        }
        String masked = uri.replaceAll("(?i)([?&]password=)[^&]*", "$1***");
        int at = masked.lastIndexOf('@');
        return masked.substring(0, scheme + 3) + "***" + (at > scheme ? masked.substring(at) : "");
    }

    private static int parsePort(String s) {
        Integer p = portNumber(s);
        if (p == null) {
            throw new CheckpointException("usage.db-uri", "invalid port '" + s + "' in database URI");
        }
        return p;
    }

    private static Integer portNumber(String s) {
        if (s.isEmpty() || s.length() > 5 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return null;
        }
        int p = Integer.parseInt(s);
        return p >= 1 && p <= 65535 ? p : null;
    }

    /** libpq's percent-decoding: %XX becomes that byte, '+' stays a plus; a bad sequence or %00 is refused, naming only the part. */
    private static String decode(String s, String part) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int i = 0;
        while (i < s.length()) {
            int pct = s.indexOf('%', i);
            if (pct < 0) {
                bytes.writeBytes(s.substring(i).getBytes(StandardCharsets.UTF_8));
                break;
            }
            bytes.writeBytes(s.substring(i, pct).getBytes(StandardCharsets.UTF_8));
            int hi = pct + 2 < s.length() ? Character.digit(s.charAt(pct + 1), 16) : -1;
            int lo = pct + 2 < s.length() ? Character.digit(s.charAt(pct + 2), 16) : -1;
            if (hi < 0 || lo < 0 || hi + lo == 0) {
                throw new CheckpointException("usage.db-uri", "invalid percent-encoding in the " + part
                        + " of the database URI: a literal '%' must be written %25, and %00 is not allowed");
            }
            bytes.write(hi * 16 + lo);
            i = pct + 3;
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static String encode(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0) {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }
}
