package io.pgcheckpoint.engine;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An archive's table of contents as {@code pg_restore --list} prints it, the SQL and
 * dependencies of chosen entries ({@code pg_restore --verbose} writes {@code -- TOC entry N}
 * and {@code -- Dependencies:} before each one), and the streaming of chosen entries, in an
 * order of our choosing, with {@code pg_restore --use-list}.
 */
public final class Toc {
    /** Every entry kind pg_dump 13-18 writes that matters here; longest first when matching. */
    private static final List<String> KINDS = java.util.stream.Stream.of(
            "ACL", "COMMENT", "CONSTRAINT", "CHECK CONSTRAINT", "DEFAULT", "DEFAULT ACL", "FK CONSTRAINT",
            "FOREIGN TABLE", "FUNCTION", "INDEX", "INDEX ATTACH", "MATERIALIZED VIEW", "MATERIALIZED VIEW DATA",
            "POLICY", "PUBLICATION", "PUBLICATION TABLE", "PUBLICATION TABLES IN SCHEMA", "ROW SECURITY", "RULE",
            "SCHEMA", "SECURITY LABEL", "SEQUENCE", "SEQUENCE OWNED BY", "SEQUENCE SET", "STATISTICS",
            "STATISTICS DATA", "TABLE", "TABLE ATTACH", "TABLE DATA", "TRIGGER", "VIEW", "EVENT TRIGGER",
            "BLOB", "BLOBS", "BLOB DATA", "BLOB METADATA", "LARGE OBJECT", "DATABASE", "DATABASE PROPERTIES",
            "EXTENSION", "TYPE", "DOMAIN", "AGGREGATE", "PROCEDURE", "SERVER", "USER MAPPING")
            .sorted(Comparator.comparingInt(String::length).reversed()).toList();

    /** Kinds whose SQL is read to learn how tables hang together (never table or blob data). */
    static final Set<String> DESCRIBED = Set.of("TABLE", "TABLE ATTACH", "MATERIALIZED VIEW", "MATERIALIZED VIEW DATA",
            "VIEW", "FOREIGN TABLE", "SEQUENCE", "SEQUENCE OWNED BY", "SEQUENCE SET", "DEFAULT", "CONSTRAINT",
            "CHECK CONSTRAINT", "FK CONSTRAINT", "INDEX", "INDEX ATTACH", "TRIGGER", "POLICY", "ROW SECURITY", "RULE",
            "STATISTICS", "COMMENT", "ACL", "SECURITY LABEL", "PUBLICATION TABLE");

    private static final Pattern LINE = Pattern.compile("^(\\d+); (\\d+) (\\d+) (.*)$");
    private static final Pattern HEADER = Pattern.compile("^-- TOC entry (\\d+) \\(class \\d+ OID \\d+\\)$");

    /** One line of the list: {@code 219; 1259 16413 TABLE public orders app_owner}. */
    public record Entry(int id, long classOid, long objOid, String kind, String label, String line) {
    }

    /** An entry's SQL as pg_restore renders it, with the entries it depends on. */
    public record Described(Entry entry, List<Integer> dependencies, String sql) {
    }

    private final PgTools tools;
    private final Path archive;
    private final List<Entry> entries;
    private final Map<Integer, Entry> byId = new HashMap<>();

    public Toc(PgTools tools, Path archive) {
        this.tools = tools;
        this.archive = archive;
        PgTools.Result r = PgTools.run(List.of(tools.path("pg_restore"), "--list", archive.toString()), Map.of());
        if (r.exitCode() != 0) {
            throw new CheckpointException("restore.toc", "pg_restore --list failed: " + PgTools.errorSummary(r.stderr()));
        }
        List<Entry> parsed = new ArrayList<>();
        for (String line : r.stdout().split("\n")) {
            Matcher m = LINE.matcher(line);
            if (!m.matches()) {
                continue;
            }
            String body = m.group(4);
            String kind = KINDS.stream().filter(k -> body.startsWith(k + " ")).findFirst()
                    .orElse(body.contains(" ") ? body.substring(0, body.indexOf(' ')) : body);
            Entry e = new Entry(Integer.parseInt(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)), kind,
                    body.length() > kind.length() ? body.substring(kind.length() + 1) : "", line);
            parsed.add(e);
            byId.put(e.id(), e);
        }
        this.entries = List.copyOf(parsed);
    }

    public List<Entry> entries() {
        return entries;
    }

    public Entry byId(int id) {
        return byId.get(id);
    }

    public Path archive() {
        return archive;
    }

    /** The SQL and dependencies of every entry of the described kinds, in one pg_restore run. */
    public Map<Integer, Described> describe() {
        List<Entry> chosen = entries.stream().filter(e -> DESCRIBED.contains(e.kind())).toList();
        Map<Integer, StringBuilder> sql = new LinkedHashMap<>();
        Map<Integer, List<Integer>> deps = new HashMap<>();
        int[] current = {-1};
        Sql.Splitter splitter = new Sql.Splitter(new Sql.Splitter.Sink() {
            @Override
            public void statement(String s) {
                if (current[0] >= 0) {
                    sql.get(current[0]).append(s).append('\n');
                }
            }

            @Override
            public void between(String line) {
                Matcher m = HEADER.matcher(line);
                if (m.matches()) {
                    current[0] = Integer.parseInt(m.group(1));
                    sql.putIfAbsent(current[0], new StringBuilder());
                } else if (line.startsWith("-- Dependencies: ") && current[0] >= 0) {
                    List<Integer> d = new ArrayList<>();
                    for (String s : line.substring("-- Dependencies: ".length()).trim().split(" +")) {
                        d.add(Integer.parseInt(s));
                    }
                    deps.put(current[0], d);
                }
            }

            @Override
            public void meta(String line) {
                // the restrict/unrestrict meta-commands only frame the script
            }
        });
        java.nio.charset.Charset[] charset = {StandardCharsets.UTF_8};
        stream(chosen, List.of(), bytes -> {
            String line = new String(bytes, charset[0]);
            Matcher enc = RestoreScript.ENCODING.matcher(line.strip());
            if (enc.matches()) {
                java.nio.charset.Charset cs = RestoreScript.charsetFor(enc.group(1));
                charset[0] = cs == null ? StandardCharsets.UTF_8 : cs;
            }
            splitter.line(line);
        });
        Map<Integer, Described> result = new LinkedHashMap<>();
        for (Entry e : chosen) {
            StringBuilder text = sql.get(e.id());
            result.put(e.id(), new Described(e, deps.getOrDefault(e.id(), List.of()), text == null ? "" : text.toString()));
        }
        return result;
    }

    /**
     * Streams the SQL of the given entries, in exactly the given order (pg_restore follows the
     * list file's order), line by line as raw bytes in the archive's encoding.
     */
    public void stream(List<Entry> ordered, List<String> flags, Consumer<byte[]> lines) {
        if (ordered.isEmpty()) {
            return;
        }
        Path list;
        try {
            list = Files.createTempFile("pgcheckpoint-toc-", ".list");
            Files.write(list, ordered.stream().map(Entry::line).toList(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CheckpointException("local.io", "cannot write a restore list: " + e.getMessage(), e);
        }
        try {
            List<String> command = new ArrayList<>(List.of(tools.path("pg_restore"), "--verbose", "--use-list=" + list, "--file=-"));
            command.addAll(flags);
            command.add(archive.toString());
            Process p = new ProcessBuilder(command).start();
            p.getOutputStream().close();
            PgTools.StderrTail err = PgTools.StderrTail.drain(p.getErrorStream());
            RuntimeException failure = null;
            try (InputStream in = new BufferedInputStream(p.getInputStream(), 1 << 16)) {
                readLines(in, lines);
            } catch (RuntimeException e) {
                failure = e;
                p.destroy();
            }
            int exit = p.waitFor();
            if (failure != null) {
                throw failure;
            }
            if (exit != 0) {
                throw new CheckpointException("restore.render", "pg_restore could not read the chosen entries: " + err.errorSummary());
            }
        } catch (IOException e) {
            throw new CheckpointException("restore.render", "pg_restore failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException("interrupted", "interrupted while reading the archive");
        } finally {
            list.toFile().delete();
        }
    }

    private static void readLines(InputStream in, Consumer<byte[]> lines) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(256);
        byte[] buffer = new byte[1 << 16];
        int n;
        while ((n = in.read(buffer)) > 0) {
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (buffer[i] == '\n') {
                    line.write(buffer, start, i - start);
                    lines.accept(line.toByteArray());
                    line.reset();
                    start = i + 1;
                }
            }
            line.write(buffer, start, n - start);
        }
        if (line.size() > 0) {
            lines.accept(line.toByteArray());
        }
    }

    /** Entries by id, for lookups from dependency lists. */
    public static Map<Integer, Entry> index(Collection<Entry> entries) {
        Map<Integer, Entry> m = new HashMap<>();
        for (Entry e : entries) {
            m.put(e.id(), e);
        }
        return m;
    }
}
