package io.pgcheckpoint.engine;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Surgical recovery of chosen tables from a checkpoint, in one transaction on the target.
 * <ul>
 * <li>side-by-side (default): the tables come back as {@code restored_<tag>.<table>}, live data untouched;</li>
 * <li>replace: a live table is emptied and refilled from the checkpoint; a dropped table is recreated
 *     with its defaults, sequences, constraints, indexes and triggers.</li>
 * </ul>
 */
public final class Restorer {
    public enum Mode { SIDE_BY_SIDE, REPLACE }

    private static final Pattern NEXTVAL = Pattern.compile("nextval\\('((?:[^']|'')+)'::regclass\\)");
    private final PgTools tools;
    private final Progress progress;

    public Restorer(PgTools tools, Progress progress) {
        this.tools = tools;
        this.progress = progress;
    }

    public record Request(Store store, String tag, List<String> tables, DbTarget target, Mode mode, String confirm,
                          String intoSchema) {
    }

    public record TableResult(String table, String restoredAs, long ledgerRows, long restoredRows, boolean matches) {
    }

    public record Report(String tag, String mode, String target, List<TableResult> tables, boolean allMatch, long millis) {
    }

    public Report restore(Request request) {
        long started = System.nanoTime();
        Manifest manifest = Archives.manifest(request.store(), request.tag());
        if (request.mode() == Mode.REPLACE && !manifest.tag().equals(request.confirm())) {
            throw new CheckpointException("restore.unconfirmed", "replace mode overwrites live tables in "
                    + request.target().describe() + ": repeat the checkpoint's tag with --confirm " + manifest.tag()
                    + " to proceed, or use side-by-side mode");
        }
        List<Ledger.Entry> chosen = choose(manifest, request.tables());
        String schema = request.intoSchema() != null ? request.intoSchema() : defaultSchema(manifest.tag());
        Path work = Driller.tempDir();
        try {
            Path archive = Archives.download(request.store(), manifest, work, progress);
            Toc toc = new Toc(tools, archive);
            StringBuilder preamble = new StringBuilder("SET client_min_messages = warning;\n");
            List<Toc.Entry> entries = new ArrayList<>();
            try (Connection c = Db.connect(request.target())) {
                if (request.mode() == Mode.SIDE_BY_SIDE) {
                    preamble.append("CREATE SCHEMA IF NOT EXISTS ").append(Db.quoteIdent(schema)).append(";\n");
                    for (Ledger.Entry t : chosen) {
                        if (exists(c, Db.qualified(schema, t.name()))) {
                            throw new CheckpointException("restore.exists", schema + "." + t.name() + " already exists in "
                                    + request.target().describe() + ": drop it or choose another schema with --into-schema");
                        }
                        entries.addAll(required(toc, "TABLE", t));
                        entries.addAll(required(toc, "TABLE DATA", t));
                    }
                } else {
                    List<String> truncate = new ArrayList<>();
                    for (Ledger.Entry t : chosen) {
                        if (exists(c, t.qualifiedName())) {
                            truncate.add("ONLY " + t.qualifiedName());
                            entries.addAll(required(toc, "TABLE DATA", t));
                        } else {
                            entries.addAll(recreation(c, toc, t));
                        }
                    }
                    if (!truncate.isEmpty()) {
                        preamble.append("TRUNCATE ").append(String.join(", ", truncate)).append(";\n");
                    }
                }
            } catch (SQLException e) {
                throw new CheckpointException("database.error", "inspecting " + request.target().describe() + " failed: " + e.getMessage(), e);
            }
            progress.step((request.mode() == Mode.SIDE_BY_SIDE ? "restoring side by side into schema " + schema
                    : "replacing") + ": " + chosen.stream().map(Ledger.Entry::display).toList());
            runInOneTransaction(request.target(), preamble.toString(), toc, entries,
                    request.mode() == Mode.SIDE_BY_SIDE ? new SchemaRewriter(chosen, schema) : line -> line);

            List<TableResult> results = new ArrayList<>();
            try (Connection c = Db.connect(request.target())) {
                for (Ledger.Entry t : chosen) {
                    String as = request.mode() == Mode.SIDE_BY_SIDE ? schema : t.schema();
                    long rows = Ledger.count(c, as, t.name());
                    results.add(new TableResult(t.display(), as + "." + t.name(), t.rows(), rows, rows == t.rows()));
                    progress.step(as + "." + t.name() + ": " + rows + " rows restored, ledger says " + t.rows());
                }
            } catch (SQLException e) {
                throw new CheckpointException("database.error", "counting restored rows failed: " + e.getMessage(), e);
            }
            return new Report(manifest.tag(), request.mode().name().toLowerCase(Locale.ROOT).replace('_', '-'),
                    request.target().describe(), results, results.stream().allMatch(TableResult::matches),
                    Sealer.millisSince(started));
        } finally {
            Driller.deleteTree(work);
        }
    }

    public static String defaultSchema(String tag) {
        String s = "restored_" + tag.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
        return s.length() > 63 ? s.substring(0, 63) : s;
    }

    /** Resolves "schema.table", "table" (public) or quoted names against the ledger. */
    static List<Ledger.Entry> choose(Manifest manifest, List<String> names) {
        if (names == null || names.isEmpty()) {
            throw new CheckpointException("usage.tables", "name at least one table to restore with --table schema.table");
        }
        Set<Ledger.Entry> chosen = new LinkedHashSet<>();
        for (String name : names) {
            String[] parts = TableNames.split(name);
            Ledger.Entry match = manifest.ledger().tables().stream()
                    .filter(e -> e.schema().equals(parts[0]) && e.name().equals(parts[1])).findFirst()
                    .orElseThrow(() -> new CheckpointException("restore.unknown-table", "table " + name
                            + " is not in checkpoint '" + manifest.tag() + "'" + suggestion(manifest, parts[1])));
            chosen.add(match);
        }
        return List.copyOf(chosen);
    }

    private static String suggestion(Manifest manifest, String name) {
        List<String> similar = manifest.ledger().tables().stream()
                .filter(e -> e.name().equalsIgnoreCase(name) || e.name().toLowerCase(Locale.ROOT).contains(name.toLowerCase(Locale.ROOT)))
                .map(Ledger.Entry::display).limit(5).toList();
        return similar.isEmpty() ? ": 'pgcheckpoint diff' or the manifest lists its tables" : "; did you mean " + String.join(", ", similar) + "?";
    }

    private static List<Toc.Entry> required(Toc toc, String kind, Ledger.Entry table) {
        List<Toc.Entry> found = toc.find(kind, table.schema(), table.name());
        if (found.isEmpty()) {
            throw new CheckpointException("restore.toc", "the archive has no " + kind + " entry for " + table.display());
        }
        return found.subList(0, 1);
    }

    /** What a dropped table needs to come back whole: its sequences, defaults, constraints, indexes, triggers, policies. */
    private List<Toc.Entry> recreation(Connection c, Toc toc, Ledger.Entry table) throws SQLException {
        List<Toc.Entry> result = new ArrayList<>();
        result.addAll(required(toc, "TABLE", table));
        result.addAll(required(toc, "TABLE DATA", table));
        List<Toc.Entry> own = toc.entries().stream()
                .filter(e -> Set.of("DEFAULT", "CONSTRAINT", "FK CONSTRAINT", "TRIGGER", "POLICY", "ROW SECURITY").contains(e.kind())
                        && e.about(table.schema(), table.name()))
                .toList();
        result.addAll(own);
        String qualified = quotedAsPgDump(c, table);
        // Indexes and identity sequences name their table only in their SQL.
        List<Toc.Entry> candidates = toc.entries().stream()
                .filter(e -> (e.kind().equals("INDEX") || e.kind().equals("SEQUENCE")) && e.inSchema(table.schema()))
                .toList();
        Map<Toc.Entry, String> sql = toc.renderEach(candidates);
        Set<String> sequences = new LinkedHashSet<>();
        for (Map.Entry<Toc.Entry, String> e : sql.entrySet()) {
            String text = e.getValue();
            boolean mine = e.getKey().kind().equals("INDEX")
                    ? text.contains(" ON " + qualified + " ") || text.contains(" ON ONLY " + qualified + " ")
                    : text.contains("ALTER TABLE " + qualified + " ");
            if (mine) {
                result.add(e.getKey());
                if (e.getKey().kind().equals("SEQUENCE")) {
                    sequences.add(e.getKey().rest().split(" ")[1]);
                }
            }
        }
        // Serial columns: sequences named in the table's defaults, if the drop took them too.
        for (Map.Entry<Toc.Entry, String> e : toc.renderEach(own.stream().filter(x -> x.kind().equals("DEFAULT")).toList()).entrySet()) {
            Matcher m = NEXTVAL.matcher(e.getValue());
            while (m.find()) {
                String sequence = m.group(1).replace("''", "'");
                if (!exists(c, sequence)) {
                    String[] parts = TableNames.split(sequence);
                    if (parts[0].equals(table.schema())) {
                        sequences.add(parts[1]);
                    }
                }
            }
        }
        for (String sequence : sequences) {
            for (String kind : List.of("SEQUENCE", "SEQUENCE OWNED BY", "SEQUENCE SET")) {
                toc.entries().stream().filter(e -> e.kind().equals(kind) && e.about(table.schema(), sequence))
                        .filter(e -> !result.contains(e)).forEach(result::add);
            }
        }
        return result;
    }

    /** The qualified name as pg_dump writes it (quoted only where needed). */
    private static String quotedAsPgDump(Connection c, Ledger.Entry t) throws SQLException {
        return Db.queryString(c, "SELECT quote_ident(?) || '.' || quote_ident(?)", t.schema(), t.name());
    }

    private static boolean exists(Connection c, String qualifiedName) throws SQLException {
        return Db.queryString(c, "SELECT to_regclass(?)::text", qualifiedName) != null;
    }

    /** Feeds the preamble and the rendered entries to one psql session in a single transaction. */
    private void runInOneTransaction(DbTarget target, String preamble, Toc toc, List<Toc.Entry> entries,
                                     java.util.function.UnaryOperator<String> rewrite) {
        try {
            ProcessBuilder pb = new ProcessBuilder(tools.path("psql"), "--no-psqlrc", "--quiet", "--single-transaction",
                    "--set=ON_ERROR_STOP=1", "--no-password", "--file=-");
            pb.environment().putAll(target.libpqEnv());
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
            Process psql = pb.start();
            PgTools.StderrTail err = PgTools.StderrTail.drain(psql.getErrorStream());
            IOException[] writeFailure = new IOException[1];
            try (Writer in = new BufferedWriter(new OutputStreamWriter(psql.getOutputStream(), StandardCharsets.UTF_8), 1 << 16)) {
                in.write(preamble);
                toc.render(entries, line -> {
                    if (writeFailure[0] != null) {
                        return;
                    }
                    try {
                        in.write(rewrite.apply(line));
                        in.write('\n');
                    } catch (IOException e) {
                        writeFailure[0] = e; // psql stopped on an error; its stderr says which
                    }
                });
            } catch (IOException e) {
                // psql exited early; reported below from its exit code and stderr
            }
            int exit = psql.waitFor();
            if (exit != 0) {
                throw new CheckpointException("restore.failed", "the restore was rolled back, nothing changed in "
                        + target.describe() + ": " + err.errorSummary());
            }
        } catch (IOException e) {
            throw new CheckpointException("tools.missing", "cannot run psql: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException("interrupted", "interrupted while restoring; psql rolls the transaction back");
        }
    }

    /**
     * Moves the chosen tables into the side-by-side schema: only the CREATE TABLE and COPY
     * headers name them; COPY data lines pass untouched, and an INHERITS clause is dropped so
     * a restored child never joins the live parent.
     */
    private static final class SchemaRewriter implements java.util.function.UnaryOperator<String> {
        private final List<String[]> renames = new ArrayList<>();
        private boolean inCopyData;

        SchemaRewriter(List<Ledger.Entry> tables, String schema) {
            for (Ledger.Entry t : tables) {
                String to = Db.quoteIdent(schema) + "." + Db.quoteIdent(t.name());
                for (String from : spellings(t)) {
                    renames.add(new String[] {from, to});
                }
            }
        }

        /** pg_dump quotes an identifier only when it must; accept both spellings. */
        private static List<String> spellings(Ledger.Entry t) {
            List<String> schemas = List.of(Db.quoteIdent(t.schema()), t.schema());
            List<String> names = List.of(Db.quoteIdent(t.name()), t.name());
            List<String> all = new ArrayList<>();
            for (String s : schemas) {
                for (String n : names) {
                    all.add(s + "." + n);
                }
            }
            return all;
        }

        @Override
        public String apply(String line) {
            if (inCopyData) {
                if (line.equals("\\.")) {
                    inCopyData = false;
                }
                return line;
            }
            for (String[] r : renames) {
                if (line.startsWith("CREATE TABLE " + r[0] + " (") || line.startsWith("CREATE UNLOGGED TABLE " + r[0] + " (")) {
                    return line.replaceFirst(Pattern.quote(r[0]), Matcher.quoteReplacement(r[1]));
                }
                if (line.startsWith("COPY " + r[0] + " (") || line.startsWith("COPY " + r[0] + " FROM")) {
                    inCopyData = line.endsWith("FROM stdin;");
                    return line.replaceFirst(Pattern.quote(r[0]), Matcher.quoteReplacement(r[1]));
                }
            }
            if (line.startsWith("INHERITS (") && line.endsWith(");")) {
                return ";";
            }
            if (line.startsWith("COPY ") && line.endsWith("FROM stdin;")) {
                inCopyData = true;
            }
            return line;
        }
    }
}
