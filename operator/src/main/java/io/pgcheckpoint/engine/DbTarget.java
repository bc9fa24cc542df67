package io.pgcheckpoint.engine;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Where a PostgreSQL database is, parsed once from a libpq URI
 * ({@code postgresql://user:secret@host:5432/db?sslmode=require}) or from the usual
 * PG* environment variables. The same target feeds JDBC (ledger, counts) and the
 * libpq tools (pg_dump, pg_restore, psql) through their environment, so the password
 * never appears on a command line.
 */
public record DbTarget(String host, int port, String user, String password, String database,
                       String sslmode, Map<String, String> options) {

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
            throw new CheckpointException("usage.db-uri",
                    "database URI must look like postgresql://user:password@host:5432/dbname, got '"
                            + redact(uri) + "'");
        }
        String query = "";
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        String database = null;
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            database = decode(rest.substring(slash + 1));
            rest = rest.substring(0, slash);
        }
        String user = null;
        String password = null;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            String userInfo = rest.substring(0, at);
            rest = rest.substring(at + 1);
            int colon = userInfo.indexOf(':');
            if (colon >= 0) {
                user = decode(userInfo.substring(0, colon));
                password = decode(userInfo.substring(colon + 1));
            } else {
                user = decode(userInfo);
            }
        }
        String host = rest;
        Integer port = null;
        if (host.startsWith("[")) {
            int close = host.indexOf(']');
            String after = host.substring(close + 1);
            host = host.substring(1, close);
            if (after.startsWith(":")) {
                port = parsePort(after.substring(1));
            }
        } else if (host.contains(",")) {
            throw new CheckpointException("usage.db-uri",
                    "multi-host database URIs are not supported; name the primary's host only");
        } else {
            int colon = host.lastIndexOf(':');
            if (colon >= 0) {
                port = parsePort(host.substring(colon + 1));
                host = host.substring(0, colon);
            }
        }
        Map<String, String> options = new LinkedHashMap<>();
        String sslmode = null;
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = decode(eq >= 0 ? pair.substring(0, eq) : pair);
            String value = eq >= 0 ? decode(pair.substring(eq + 1)) : "";
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
                password == null ? fallback.password : password,
                database == null || database.isEmpty() ? fallback.database : database,
                sslmode == null ? fallback.sslmode : sslmode,
                Map.copyOf(options)).validated();
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
        if (host.startsWith("/")) {
            throw new CheckpointException("usage.db-uri",
                    "Unix-socket connections (host " + host + ") are not supported; connect over TCP, e.g. host=127.0.0.1");
        }
        if (!java.util.Set.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full").contains(sslmode)) {
            throw new CheckpointException("usage.db-uri", "unknown sslmode '" + sslmode
                    + "': use disable, allow, prefer, require, verify-ca or verify-full");
        }
        return this;
    }

    public DbTarget withDatabase(String name) {
        return new DbTarget(host, port, user, password, name, sslmode, options);
    }

    public String jdbcUrl() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return "jdbc:postgresql://" + h + ":" + port + "/"
                + java.net.URLEncoder.encode(database, StandardCharsets.UTF_8).replace("+", "%20");
    }

    public Properties jdbcProperties(int connectTimeoutSeconds) {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) {
            p.setProperty("password", password);
        }
        p.setProperty("sslmode", sslmode);
        p.setProperty("connectTimeout", Integer.toString(connectTimeoutSeconds));
        p.setProperty("ApplicationName", "pgcheckpoint");
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

    /** What to show people and logs: never the password. */
    public String describe() {
        return "postgresql://" + user + "@" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/" + database;
    }

    @Override
    public String toString() {
        return describe();
    }

    static String redact(String uri) {
        return uri.replaceAll("://([^:/@]*):[^@]*@", "://$1:***@");
    }

    private static int parsePort(String s) {
        try {
            int p = Integer.parseInt(s);
            if (p < 1 || p > 65535) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw new CheckpointException("usage.db-uri", "invalid port '" + s + "' in database URI");
        }
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }
}
