package io.pgcheckpoint.engine;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * An archive's table of contents as {@code pg_restore -l} prints it, and the selective
 * rendering of chosen entries to SQL with {@code pg_restore -L}.
 */
public final class Toc {
    /** Longest first, so "TABLE DATA" is not read as "TABLE". */
    private static final List<String> KINDS = List.of("MATERIALIZED VIEW DATA", "SEQUENCE OWNED BY", "FK CONSTRAINT",
            "SEQUENCE SET", "TABLE DATA", "CONSTRAINT", "SEQUENCE", "DEFAULT", "TRIGGER", "INDEX", "POLICY",
            "ROW SECURITY", "TABLE");

    public record Entry(String line, String kind, String rest) {
        /** The entry belongs to {@code schema.name} (its tag is the name, or starts with it for constraints and defaults). */
        boolean about(String schema, String name) {
            return rest.startsWith(schema + " " + name + " ");
        }

        boolean inSchema(String schema) {
            return rest.startsWith(schema + " ");
        }
    }

    private final PgTools tools;
    private final Path archive;
    private final List<Entry> entries;

    public Toc(PgTools tools, Path archive) {
        this.tools = tools;
        this.archive = archive;
        PgTools.Result r = PgTools.run(List.of(tools.path("pg_restore"), "--list", archive.toString()), Map.of());
        if (r.exitCode() != 0) {
            throw new CheckpointException("restore.toc", "pg_restore --list failed: " + PgTools.errorSummary(r.stderr()));
        }
        List<Entry> parsed = new ArrayList<>();
        for (String line : r.stdout().split("\n")) {
            if (line.isBlank() || line.startsWith(";")) {
                continue;
            }
            // "225; 1259 16385 TABLE public orders postgres"
            String[] head = line.split(" ", 4);
            if (head.length < 4) {
                continue;
            }
            String body = head[3];
            for (String kind : KINDS) {
                if (body.startsWith(kind + " ")) {
                    parsed.add(new Entry(line, kind, body.substring(kind.length() + 1)));
                    break;
                }
            }
        }
        this.entries = parsed;
    }

    public List<Entry> entries() {
        return entries;
    }

    public List<Entry> find(String kind, String schema, String name) {
        return entries.stream().filter(e -> e.kind().equals(kind) && e.about(schema, name)).toList();
    }

    /** Streams the SQL of the given entries, in archive order, line by line. */
    public void render(List<Entry> chosen, Consumer<String> lines) {
        List<Entry> ordered = entries.stream().filter(chosen::contains).toList();
        Path list;
        try {
            list = Files.createTempFile("pgcheckpoint-toc-", ".list");
            Files.write(list, ordered.stream().map(Entry::line).toList(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CheckpointException("local.io", "cannot write a restore list: " + e.getMessage(), e);
        }
        try {
            Process p = new ProcessBuilder(tools.path("pg_restore"), "--use-list=" + list, "--file=-", "--no-owner",
                    "--no-privileges", "--no-tablespaces", "--no-comments", archive.toString()).start();
            p.getOutputStream().close();
            PgTools.StderrTail err = PgTools.StderrTail.drain(p.getErrorStream());
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8), 1 << 16)) {
                String line;
                while ((line = in.readLine()) != null) {
                    lines.accept(line);
                }
            }
            if (p.waitFor() != 0) {
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

    /** The SQL of each entry on its own, split on the headers pg_restore writes before every entry. */
    public Map<Entry, String> renderEach(List<Entry> chosen) {
        if (chosen.isEmpty()) {
            return Map.of();
        }
        List<Entry> ordered = entries.stream().filter(chosen::contains).toList();
        List<StringBuilder> blocks = new ArrayList<>();
        render(ordered, line -> {
            if (line.startsWith("-- Name: ") || line.startsWith("-- Data for Name: ")) {
                blocks.add(new StringBuilder());
            } else if (!blocks.isEmpty() && !line.startsWith("--")) {
                blocks.get(blocks.size() - 1).append(line).append('\n');
            }
        });
        if (blocks.size() != ordered.size()) {
            throw new CheckpointException("restore.render", "expected " + ordered.size() + " entries from pg_restore, read "
                    + blocks.size() + ": this archive's layout is not understood; restore with pg_restore by hand");
        }
        Map<Entry, String> sql = new java.util.LinkedHashMap<>();
        for (int i = 0; i < ordered.size(); i++) {
            sql.put(ordered.get(i), blocks.get(i).toString());
        }
        return sql;
    }

    public Path archive() {
        return archive;
    }
}
