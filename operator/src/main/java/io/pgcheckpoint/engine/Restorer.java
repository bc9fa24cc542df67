package io.pgcheckpoint.engine;

import io.pgcheckpoint.engine.ArchiveSchema.Facts;
import io.pgcheckpoint.engine.ArchiveSchema.QName;
import io.pgcheckpoint.engine.ArchiveSchema.Relation;
import io.pgcheckpoint.engine.LiveCatalog.Fk;
import io.pgcheckpoint.engine.LiveCatalog.Live;
import io.pgcheckpoint.engine.LiveCatalog.Roles;
import io.pgcheckpoint.engine.LiveCatalog.Trigger;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static io.pgcheckpoint.engine.LiveCatalog.ancestors;
import static io.pgcheckpoint.engine.LiveCatalog.children;
import static io.pgcheckpoint.engine.LiveCatalog.constraintExists;
import static io.pgcheckpoint.engine.LiveCatalog.defaultPartition;
import static io.pgcheckpoint.engine.LiveCatalog.foreignKeys;
import static io.pgcheckpoint.engine.LiveCatalog.found;
import static io.pgcheckpoint.engine.LiveCatalog.leafPartitions;
import static io.pgcheckpoint.engine.LiveCatalog.live;
import static io.pgcheckpoint.engine.LiveCatalog.ownerTableOf;
import static io.pgcheckpoint.engine.LiveCatalog.privileged;
import static io.pgcheckpoint.engine.LiveCatalog.relkindName;
import static io.pgcheckpoint.engine.LiveCatalog.userTriggers;
import static io.pgcheckpoint.engine.LiveCatalog.viewsOn;

/**
 * Surgical recovery of chosen tables from a checkpoint, in one transaction on the target, run
 * over one JDBC connection: the archive's SQL comes from {@code pg_restore --use-list} and is
 * executed statement by statement, COPY data streamed, so that every step, count and warning is
 * read from inside the transaction before it commits (see docs/restore.md).
 * <ul>
 * <li>side-by-side (default): the tables come back as {@code restored_<tag>.<table>}; every
 *     statement is rewritten to name only the restored schema, or left out: no live object is touched;</li>
 * <li>replace: a live table is emptied and refilled with its user triggers disabled, a dropped one
 *     is recreated whole (partitions attached, foreign keys into it, owner, grants, comments,
 *     policies); sequences end past the restored rows and never move backwards.</li>
 * </ul>
 * {@link #plan} computes the same steps without changing anything.
 */
public final class Restorer {
    public enum Mode { SIDE_BY_SIDE, REPLACE }

    public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofSeconds(10);

    private final PgTools tools;
    private final Progress progress;

    public Restorer(PgTools tools, Progress progress) {
        this.tools = tools;
        this.progress = progress;
    }

    public record Request(Store store, String tag, List<String> tables, DbTarget target, Mode mode, String confirm,
                          String intoSchema, Duration lockTimeout) {
        public Request(Store store, String tag, List<String> tables, DbTarget target, Mode mode, String confirm, String intoSchema) {
            this(store, tag, tables, target, mode, confirm, intoSchema, DEFAULT_LOCK_TIMEOUT);
        }
    }

    /** One relation that holds rows: what the checkpoint's ledger says and what the transaction counted before commit. */
    public record TableResult(String table, String restoredAs, String kind, long ledgerRows, long restoredRows, boolean matches,
                              String note) {
    }

    /** One step, planned or done: e.g. "empty and refill" "public.orders" "1000 rows". */
    public record Action(String what, String object, String detail) {
        @Override
        public String toString() {
            return what + " " + object + (detail == null || detail.isEmpty() ? "" : ": " + detail);
        }
    }

    public record Plan(String tag, String mode, String target, List<Action> actions, List<String> warnings, List<String> blockers) {
        public boolean ok() {
            return blockers.isEmpty();
        }
    }

    public record Report(String tag, String mode, String target, List<TableResult> tables, boolean allMatch, long millis,
                         List<Action> done, List<String> warnings) {
    }

    public static String defaultSchema(String tag) {
        String s = "restored_" + tag.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
        return s.length() > 63 ? s.substring(0, 63) : s;
    }

    // --- entry points -------------------------------------------------------------------------

    public Report restore(Request request) {
        long started = System.nanoTime();
        return withArchive(request, true, p -> {
            Connection c = Db.connect(request.target());
            try {
                c.setAutoCommit(false);
                return request.mode() == Mode.REPLACE ? replace(p, c, started) : sideBySide(p, c, started);
            } catch (RuntimeException | SQLException e) {
                rollbackQuietly(c);
                throw e;
            } finally {
                try {
                    c.close(); // after a commit, nothing here may turn the restore into a failure
                } catch (SQLException ignored) {
                    // the transaction has ended either way
                }
            }
        });
    }

    /** What {@link #restore} would do, computed in a read-only transaction that is rolled back: nothing changes. */
    public Plan plan(Request request) {
        return withArchive(request, false, p -> {
            try (Connection c = Db.connect(request.target())) {
                c.setAutoCommit(false);
                c.setReadOnly(true);
                try {
                    Work w = request.mode() == Mode.REPLACE ? planReplace(p, c) : planSideBySide(p, c);
                    return new Plan(p.manifest.tag(), modeName(request.mode()), request.target().describe(),
                            List.copyOf(w.actions), List.copyOf(w.warnings), List.copyOf(w.blockers));
                } finally {
                    rollbackQuietly(c);
                }
            }
        });
    }

    private interface Body<T> {
        T run(Prepared p) throws SQLException;
    }

    private record Prepared(Request request, Manifest manifest, Toc toc, ArchiveSchema schema, List<Relation> chosen,
                            Map<String, Ledger.Entry> ledger, String into, int dataStart) {
        Ledger.Entry ledger(QName q) {
            return ledger.get(q.display());
        }
    }

    private <T> T withArchive(Request request, boolean confirmRequired, Body<T> body) {
        Manifest manifest = Archives.manifest(request.store(), request.tag());
        if (confirmRequired && request.mode() == Mode.REPLACE && !manifest.tag().equals(request.confirm())) {
            throw new CheckpointException("restore.unconfirmed", "replace mode overwrites live tables in "
                    + request.target().describe() + ": repeat the checkpoint's tag with --confirm " + manifest.tag()
                    + " to proceed, or use side-by-side mode (--plan shows what replace would do)");
        }
        if (request.tables() == null || request.tables().isEmpty()) {
            throw new CheckpointException("usage.tables", "name at least one table to restore with --table schema.table");
        }
        Path work = Driller.tempDir();
        try {
            Path archive = Archives.download(request.store(), manifest, work, progress);
            // pg_restore that reads this archive: of its pg_dump's major, else the lowest newer one
            Toc toc = new Toc(tools.forArchive(manifest.pgDumpMajor(), manifest.pgDumpVersion()), archive);
            ArchiveSchema schema = new ArchiveSchema(toc, toc.describe());
            List<Relation> chosen = resolve(schema, manifest, request.tables());
            Map<String, Ledger.Entry> ledger = new HashMap<>();
            for (Ledger.Entry e : manifest.ledger().tables()) {
                ledger.put(e.display(), e);
            }
            int dataStart = toc.entries().size();
            for (int i = 0; i < toc.entries().size(); i++) {
                String kind = toc.entries().get(i).kind();
                if (kind.equals("TABLE DATA") || kind.equals("SEQUENCE SET")) {
                    dataStart = i;
                    break;
                }
            }
            String into = request.intoSchema() != null ? request.intoSchema() : defaultSchema(manifest.tag());
            return body.run(new Prepared(request, manifest, toc, schema, chosen, ledger, into, dataStart));
        } catch (SQLException e) {
            if (RestoreScript.isConnectionFailure(e)) {
                throw new CheckpointException("database.error", "the connection to " + request.target().describe()
                        + " broke (" + e.getMessage() + "): if it broke while committing, check the restored tables' counts", e);
            }
            throw new CheckpointException("database.error", "restoring into " + request.target().describe() + " failed: "
                    + RestoreScript.describe(e) + "; the transaction was rolled back, nothing changed", e);
        } finally {
            Driller.deleteTree(work);
        }
    }

    /** Names ("schema.table", "table", quoted) against the archive's relations; a partitioned table brings all its partitions. */
    static List<Relation> resolve(ArchiveSchema schema, Manifest manifest, List<String> names) {
        Set<Relation> chosen = new LinkedHashSet<>();
        for (String name : names) {
            String[] parts = TableNames.split(name);
            Relation r = schema.relation(new QName(parts[0], parts[1]));
            if (r == null) {
                throw new CheckpointException("restore.unknown-table", "table " + name + " is not in checkpoint '"
                        + manifest.tag() + "'" + suggestion(schema, parts[1]));
            }
            if (r.kind.equals("view")) {
                throw new CheckpointException("restore.not-a-table", r.name + " is a view: it holds no rows to restore; "
                        + "recreate its definition from the archive by hand (pg_restore --list, then --use-list)");
            }
            if (r.kind.equals("foreign table")) {
                throw new CheckpointException("restore.not-a-table", r.name + " is a foreign table: pg_dump does not dump "
                        + "its rows, they live on the foreign server");
            }
            chosen.addAll(schema.withPartitions(r));
        }
        for (Relation r : chosen) {
            if (r.kind.equals("table") && r.data == null) {
                throw new CheckpointException("restore.no-data", "the checkpoint holds no rows for " + r.name
                        + " (its data was excluded when it was sealed): nothing to restore");
            }
        }
        return List.copyOf(chosen);
    }

    private static String suggestion(ArchiveSchema schema, String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        List<String> similar = schema.relations.values().stream()
                .filter(r -> !r.kind.equals("view"))
                .filter(r -> r.name.name().equalsIgnoreCase(name) || r.name.name().toLowerCase(Locale.ROOT).contains(lower))
                .map(r -> r.name.display()).sorted().limit(5).toList();
        return similar.isEmpty() ? ": 'pgcheckpoint diff' or the manifest lists its tables" : "; did you mean " + String.join(", ", similar) + "?";
    }

    private static String modeName(Mode mode) {
        return mode.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    // --- the plan of a replace --------------------------------------------------------------------

    /** Everything a restore will do, computed from the archive and the live catalog. */
    private static final class Work {
        final List<Action> actions = new ArrayList<>();
        final Set<String> warnings = new LinkedHashSet<>();
        final List<String> blockers = new ArrayList<>();
        final Map<QName, Live> live = new HashMap<>();
        final List<Relation> refill = new ArrayList<>();
        final List<Relation> recreate = new ArrayList<>();
        final List<Relation> matviews = new ArrayList<>();
        final List<Relation> dropMatviews = new ArrayList<>();
        final List<Relation> lateAttach = new ArrayList<>();
        final List<Facts> foreignKeysIn = new ArrayList<>();
        final List<Trigger> triggers = new ArrayList<>();
        final List<String> truncate = new ArrayList<>();
        /** Foreign keys among refilled tables that form a cycle: dropped before the refill, added back after. */
        final List<String[]> cycleKeys = new ArrayList<>();
        final Map<QName, String> locks = new LinkedHashMap<>();
        final Set<Integer> attempts = new HashSet<>();
        final Set<Integer> foreignKeyEntries = new HashSet<>();
        /** Entries of a recreated table left out: its sequence still exists, or a foreign key's target does not. */
        final Set<Integer> skipped = new HashSet<>();
        /** Sequences a recreated table's defaults need that are gone and come from the archive too. */
        final Set<QName> missingSequences = new HashSet<>();
        /** Indexes, constraints, triggers, ... of refilled tables that a migration dropped: put back after the rows. */
        final List<Facts> missing = new ArrayList<>();
        List<Relation> dataOrder = List.of();
        List<Toc.Entry> script = List.of();
        List<Toc.Entry> postScript = List.of();
        List<Toc.Entry> matviewScript = List.of();
        Roles roles;
        /** Side by side: live name -> restored name, temporary parents, and what follows the script. */
        final Map<QName, QName> rename = new LinkedHashMap<>();
        final List<QName> temporary = new ArrayList<>();
        final List<String> after = new ArrayList<>();

        void lock(QName q, String mode) {
            String had = locks.get(q);
            if (had == null || strength(mode) > strength(had)) {
                locks.put(q, mode);
            }
        }

        static int strength(String mode) {
            return switch (mode) {
                case "ACCESS EXCLUSIVE" -> 3;
                case "SHARE ROW EXCLUSIVE" -> 2;
                default -> 1;
            };
        }
    }

    private Work planReplace(Prepared p, Connection c) throws SQLException {
        Work w = new Work();
        ArchiveSchema s = p.schema;
        w.roles = new Roles(c);
        Set<QName> chosenNames = p.chosen.stream().map(r -> r.name).collect(Collectors.toSet());
        for (Relation r : p.chosen) {
            Live l = live(c, r.name);
            if (l != null) {
                w.live.put(r.name, l);
            }
        }
        // What happens to each relation.
        for (Relation r : p.chosen) {
            Live l = w.live.get(r.name);
            char expected = r.isMatview() ? 'm' : r.partitioned() ? 'p' : 'r';
            if (l != null && l.kind() != expected) {
                w.blockers.add(r.name + " is now " + relkindName(l.kind()) + ", in the checkpoint it is a " + r.kind
                        + ": drop it first if it should go, or restore side by side (--mode side-by-side)");
                continue;
            }
            if (r.isMatview()) {
                if (l != null) {
                    List<QName> views = viewsOn(c, l.oid());
                    if (!views.isEmpty()) {
                        w.blockers.add("materialized view " + r.name + " cannot be replaced: " + names(views)
                                + " depend on it; restore it side by side, or drop them first");
                        continue;
                    }
                    w.dropMatviews.add(r); // DROP takes its ACCESS EXCLUSIVE lock (LOCK TABLE refuses materialized views)
                }
                w.matviews.add(r);
                continue;
            }
            if (l == null) {
                w.recreate.add(r);
                continue;
            }
            if (!r.partitioned()) {
                String shape = shapeChange(c, p.schema, r, l);
                if (shape != null) {
                    w.blockers.add(r.name + " changed shape since the checkpoint (" + shape + "): its rows cannot be put back as they"
                            + " were. Restore it side by side and copy what you need, or drop it and replace it to recreate it as it was");
                }
                w.refill.add(r);
                w.lock(r.name, "ACCESS EXCLUSIVE");
                List<Trigger> enabled = userTriggers(c, l).stream().filter(t -> t.state() != 'D').toList();
                w.triggers.addAll(enabled);
                if (!enabled.isEmpty() && !w.roles.superuser && !privileged(c, "(SELECT pg_catalog.pg_has_role(current_user, relowner, "
                        + "'USAGE') FROM pg_catalog.pg_class WHERE oid = ?)", l.oid())) {
                    w.blockers.add(r.name + " has user triggers (" + enabled.stream().map(Trigger::name).collect(Collectors.joining(", "))
                            + ") that must not fire during the refill, and only its owner or a superuser can disable them: "
                            + "run the restore as one of them, or restore side by side");
                }
            } else {
                for (QName child : children(c, l.oid())) {
                    if (!chosenNames.contains(child)) {
                        w.warnings.add(child + " is a partition of " + r.name + " now but not in the checkpoint: left as it is");
                    }
                }
            }
            if (r.parent != null) {
                if (!l.partition()) {
                    w.lateAttach.add(r);
                    w.lock(r.name, "ACCESS EXCLUSIVE");
                } else if (!l.parents().contains(r.parent)) {
                    w.blockers.add(r.name + " is now a partition of " + names(l.parents()) + ", in the checkpoint of "
                            + r.parent + ": detach it first, or restore side by side");
                }
            } else if (l.partition()) {
                w.warnings.add(r.name + " is now a partition of " + names(l.parents()) + " (it was not in the checkpoint): it stays attached");
            }
        }
        Set<QName> recreated = w.recreate.stream().map(r -> r.name).collect(Collectors.toSet());
        for (Relation r : w.recreate) {
            if (r.parent != null && !recreated.contains(r.parent)) {
                Live parent = live(c, r.parent);
                if (parent == null) {
                    w.warnings.add(r.name + " comes back as a plain table, not attached: its parent " + r.parent
                            + " does not exist; restore " + r.parent + " to bring the whole partitioned table back");
                } else {
                    w.lateAttach.add(r);
                }
            }
            for (QName parent : r.facts.inherits) {
                if (!recreated.contains(parent)) {
                    if (live(c, parent) == null) {
                        w.blockers.add(r.name + " inherits from " + parent + ", which does not exist: restore " + parent + " too");
                    } else {
                        w.lock(parent, "SHARE UPDATE EXCLUSIVE");
                    }
                }
            }
        }
        for (Relation r : w.lateAttach) {
            Live parent = live(c, r.parent);
            if (parent != null) {
                w.lock(r.parent, "SHARE UPDATE EXCLUSIVE");
                QName dflt = defaultPartition(c, parent.oid());
                if (dflt != null && !dflt.equals(r.name)) {
                    w.lock(dflt, "ACCESS EXCLUSIVE");
                }
            }
        }
        refuseWhenReferenced(c, p, w);
        planRecreation(c, p, w, recreated);
        planMissingPieces(c, p, w);
        planDataOrder(c, p, w);
        buildScripts(p, w);
        describeReplace(c, p, w);
        return w;
    }

    /** What makes the checkpoint's rows not fit the live table: columns gone, or new required ones; null when they fit. */
    private static String shapeChange(Connection c, ArchiveSchema schema, Relation r, Live l) throws SQLException {
        List<String> archived = schema.allColumns(r);
        if (archived.isEmpty()) {
            return null; // a definition this restore could not read: let COPY judge
        }
        List<LiveCatalog.Column> live = LiveCatalog.columns(c, l.oid());
        Set<String> liveNames = live.stream().map(LiveCatalog.Column::name).collect(Collectors.toSet());
        List<String> gone = archived.stream().filter(x -> !liveNames.contains(x)).toList();
        List<String> required = live.stream().filter(x -> x.required() && !archived.contains(x.name())).map(LiveCatalog.Column::name).toList();
        List<String> parts = new ArrayList<>();
        if (!gone.isEmpty()) {
            parts.add("column(s) " + String.join(", ", gone) + " no longer there");
        }
        if (!required.isEmpty()) {
            parts.add("new NOT NULL column(s) without a default: " + String.join(", ", required));
        }
        return parts.isEmpty() ? null : String.join("; ", parts);
    }

    /** Case "blocked by a foreign key": a table that other, unrestored tables reference cannot be emptied. */
    private static void refuseWhenReferenced(Connection c, Prepared p, Work w) throws SQLException {
        Set<Long> covered = new HashSet<>();
        for (Relation r : w.refill) {
            covered.add(w.live.get(r.name).oid());
        }
        // A partitioned table whose every live leaf is refilled is truncated as a whole (PostgreSQL wants it named).
        List<String> wholeParents = new ArrayList<>();
        for (Relation r : p.chosen) {
            Live l = w.live.get(r.name);
            if (l != null && r.partitioned() && l.kind() == 'p') {
                Set<QName> refilled = w.refill.stream().map(x -> x.name).collect(Collectors.toSet());
                if (refilled.containsAll(leafPartitions(c, l.oid())) && !leafPartitions(c, l.oid()).isEmpty()) {
                    covered.add(l.oid());
                    if (r.parent == null || !p.chosen.stream().anyMatch(x -> x.name.equals(r.parent))) {
                        wholeParents.add(r.name.qualified());
                        // TRUNCATE of the parent would fire its statement triggers: they are disabled too, first
                        // (and enabled first, so that the partitions' own states are what remains).
                        List<Trigger> enabled = userTriggers(c, l).stream().filter(t -> t.state() != 'D').toList();
                        w.triggers.addAll(0, enabled);
                    }
                }
            }
        }
        Map<QName, Set<String>> blockedBy = new LinkedHashMap<>();
        for (Relation r : w.refill) {
            for (Fk fk : foreignKeys(c, "con.confrelid = ?", w.live.get(r.name).oid())) {
                if (!covered.contains(fk.conrelid())) {
                    blockedBy.computeIfAbsent(r.name, k -> new LinkedHashSet<>()).add(fk.table() + " (" + fk.name() + ")");
                }
            }
        }
        for (Map.Entry<QName, Set<String>> b : blockedBy.entrySet()) {
            Set<String> tables = b.getValue().stream().map(x -> x.substring(0, x.indexOf(" ("))).collect(Collectors.toCollection(LinkedHashSet::new));
            w.blockers.add(b.getKey() + " cannot be emptied: foreign keys from tables you are not restoring reference it: "
                    + String.join(", ", b.getValue()) + ". Nothing was changed. Either restore them together (add "
                    + tables.stream().map(t -> "--table " + t).collect(Collectors.joining(" "))
                    + ": their rows go back to the checkpoint too), or restore " + b.getKey()
                    + " side by side (--mode side-by-side) and copy the rows you need back");
        }
        for (Relation r : w.refill) {
            w.truncate.add("ONLY " + r.name.qualified());
        }
        w.truncate.addAll(wholeParents);
    }

    /** For dropped relations: what comes back with them, and what cannot. */
    private static void planRecreation(Connection c, Prepared p, Work w, Set<QName> recreated) throws SQLException {
        ArchiveSchema s = p.schema;
        Set<Integer> skipped = new HashSet<>();
        for (Relation r : w.recreate) {
            for (Facts f : s.belongings(r)) {
                switch (f.kind()) {
                    case "SEQUENCE" -> {
                        if (!f.identity && f.objectName != null && live(c, f.objectName) != null) {
                            skipped.add(f.entry.id());
                            Facts ownedBy = s.sequenceOwnedBy.get(f.objectName);
                            if (ownedBy != null) {
                                skipped.add(ownedBy.entry.id());
                            }
                        }
                    }
                    case "FK CONSTRAINT" -> {
                        w.foreignKeyEntries.add(f.entry.id());
                        if (f.other != null && !recreated.contains(f.other)) {
                            Live referenced = live(c, f.other);
                            if (referenced == null) {
                                w.warnings.add("foreign key " + f.object + " of " + r.name + " not recreated: it references "
                                        + f.other + ", which does not exist; restore " + f.other + " too");
                                skipped.add(f.entry.id());
                            } else if (!privileged(c, "pg_catalog.has_any_column_privilege(?, 'REFERENCES')", referenced.oid())) {
                                w.warnings.add("foreign key " + f.object + " of " + r.name + " not recreated: " + w.roles.user
                                        + " lacks the REFERENCES privilege on " + f.other + "; someone who has it can run: "
                                        + oneLine(f.statements));
                                skipped.add(f.entry.id());
                            } else {
                                w.lock(f.other, "SHARE ROW EXCLUSIVE");
                            }
                        }
                    }
                    case "COMMENT", "ACL", "SECURITY LABEL", "POLICY", "PUBLICATION TABLE", "INDEX ATTACH" -> w.attempts.add(f.entry.id());
                    default -> { }
                }
            }
            // Sequences named by defaults that neither exist nor come with the table (owned by another dropped table).
            for (Facts f : s.belongings(r)) {
                if (f.kind().equals("DEFAULT")) {
                    for (QName seq : f.sequences) {
                        Facts def = s.sequences.get(seq);
                        QName owner = s.sequenceOwners.get(seq);
                        if (live(c, seq) == null && (owner == null || !owner.equals(r.name))) {
                            if (def == null) {
                                w.blockers.add("the default of " + r.name + " uses sequence " + seq
                                        + ", which neither exists nor is in the checkpoint");
                            } else if (owner == null || !recreated.contains(owner)) {
                                w.missingSequences.add(seq);
                                w.warnings.add("sequence " + seq + " (used by " + r.name + ") is recreated too"
                                        + (owner != null ? "; it was owned by " + owner + ", which is not restored" : ""));
                            }
                        }
                    }
                }
            }
            // Foreign keys of other, live tables into this one: DROP ... CASCADE took them.
            for (Facts fk : s.foreignKeysInto(r.name)) {
                if (recreated.contains(fk.target) || fk.object == null) {
                    continue;
                }
                if (live(c, fk.target) == null) {
                    continue;
                }
                if (!constraintExists(c, fk.target, fk.object)) {
                    Live owner = live(c, fk.target);
                    if (!w.roles.superuser && !privileged(c, "(SELECT pg_catalog.pg_has_role(current_user, relowner, 'USAGE') "
                            + "FROM pg_catalog.pg_class WHERE oid = ?)", owner.oid())) {
                        w.warnings.add("foreign key " + fk.object + " of " + fk.target + " (into " + r.name + ") not recreated: "
                                + w.roles.user + " does not own " + fk.target + "; its owner or a superuser can run: " + oneLine(fk.statements));
                        continue;
                    }
                    w.foreignKeysIn.add(fk);
                    w.foreignKeyEntries.add(fk.entry.id());
                    w.lock(fk.target, "SHARE ROW EXCLUSIVE");
                }
            }
            // Names the recreation needs that something else holds now (e.g. the migration renamed the table).
            for (Facts f : s.belongings(r)) {
                QName taken = switch (f.kind()) {
                    case "INDEX" -> f.objectName;
                    case "CONSTRAINT" -> f.indexBacked && f.object != null ? new QName(r.name.schema(), f.object) : null;
                    case "SEQUENCE" -> f.identity ? f.objectName : null;
                    default -> null;
                };
                if (taken != null && !skipped.contains(f.entry.id())) {
                    Live holder = live(c, taken);
                    if (holder != null) {
                        w.blockers.add("cannot recreate " + r.name + ": the name " + taken + " it needs for its "
                                + (f.kind().equals("SEQUENCE") ? "identity sequence" : "index") + " is taken by " + relkindName(holder.kind())
                                + ownerTableOf(c, holder) + " (was the table renamed?): rename or drop that, or restore side by side");
                    }
                }
            }
            // Privileges: the owner and grants are restored when the restoring role may set them.
            String owner = ownerOf(r.facts);
            if (owner != null) {
                String why = w.roles.cannotOwnAs(owner);
                if (why != null) {
                    w.warnings.add(ownerWarning(r.name.display(), owner, why, w.roles.user));
                }
            }
            for (Facts f : s.belongings(r)) {
                if (f.kind().equals("ACL")) {
                    for (String stmt : f.statements) {
                        String why = grantProblem(stmt, w.roles);
                        if (why != null) {
                            w.warnings.add(grantWarning(stmt, why));
                        }
                    }
                }
            }
        }
        // Sequences the table's defaults need but that are gone, with their decorations.
        w.attempts.removeAll(skipped);
        w.skipped.addAll(skipped);
        // What depended on a dropped relation and is gone too, not restored.
        Set<QName> chosen = p.chosen.stream().map(r -> r.name).collect(Collectors.toSet());
        Deque<Integer> queue = new ArrayDeque<>();
        w.recreate.forEach(r -> queue.add(r.facts.entry.id()));
        w.dropMatviews.forEach(r -> queue.add(r.facts.entry.id()));
        Set<QName> reported = new HashSet<>();
        while (!queue.isEmpty()) {
            int id = queue.poll();
            for (Facts d : s.dependentsOf(id)) {
                if (d.target == null || chosen.contains(d.target) || reported.contains(d.target)
                        || !Set.of("VIEW", "MATERIALIZED VIEW", "TABLE", "FOREIGN TABLE").contains(d.kind())) {
                    continue;
                }
                if (live(c, d.target) == null) {
                    reported.add(d.target);
                    String what = d.kind().equals("TABLE") ? "table" : d.kind().toLowerCase(Locale.ROOT);
                    w.warnings.add("not restored: " + what + " " + d.target + " depended on what this restore brings back and is gone"
                            + (d.kind().equals("TABLE") || d.kind().equals("MATERIALIZED VIEW") ? "; restore it too with --table " + d.target
                            : "; recreate it from the archive by hand (pg_restore --use-list)"));
                    queue.add(d.entry.id());
                }
            }
        }
    }

    private static String oneLine(List<String> statements) {
        return statements.stream().filter(x -> !x.startsWith("SET ") && !x.startsWith("SELECT "))
                .map(x -> x.replaceAll("\\s+", " ")).collect(Collectors.joining(" "));
    }

    /** A refilled table keeps its live definition, but what it had at the checkpoint and lost since is put back. */
    private static void planMissingPieces(Connection c, Prepared p, Work w) throws SQLException {
        for (Relation r : w.refill) {
            long oid = w.live.get(r.name).oid();
            List<String> names = new ArrayList<>();
            for (Facts f : p.schema.belongings(r)) {
                boolean missing = switch (f.kind()) {
                    case "CONSTRAINT", "CHECK CONSTRAINT", "FK CONSTRAINT" -> f.object != null && !constraintExists(c, r.name, f.object);
                    case "INDEX" -> f.objectName != null && live(c, f.objectName) == null;
                    case "TRIGGER" -> f.object != null && !found(c, "SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = ? AND tgname = ?", oid, f.object);
                    case "POLICY" -> f.object != null && !found(c, "SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid = ? AND polname = ?", oid, f.object);
                    case "RULE" -> f.object != null && !found(c, "SELECT 1 FROM pg_catalog.pg_rewrite WHERE ev_class = ? AND rulename = ?", oid, f.object);
                    case "STATISTICS" -> f.objectName != null && !found(c, "SELECT 1 FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n "
                            + "ON n.oid = s.stxnamespace WHERE n.nspname = ? AND s.stxname = ?", f.objectName.schema(), f.objectName.name());
                    case "ROW SECURITY" -> !found(c, "SELECT 1 FROM pg_catalog.pg_class WHERE oid = ? AND relrowsecurity", oid);
                    default -> false;
                };
                if (!missing) {
                    continue;
                }
                if (f.kind().equals("FK CONSTRAINT")) {
                    Live referenced = f.other == null ? null : live(c, f.other);
                    if (referenced == null) {
                        w.warnings.add("foreign key " + f.object + " of " + r.name + " not put back: " + f.other + " does not exist");
                        continue;
                    }
                    w.foreignKeyEntries.add(f.entry.id());
                    w.lock(f.other, "SHARE ROW EXCLUSIVE");
                }
                if (f.kind().equals("POLICY")) {
                    w.attempts.add(f.entry.id());
                }
                w.missing.add(f);
                names.add(f.kind().toLowerCase(Locale.ROOT).replace("fk constraint", "foreign key") + " "
                        + (f.object != null ? f.object : f.objectName != null ? f.objectName.display() : ""));
                for (Facts d : p.schema.decorations(Set.of(f.entry.id()))) {
                    w.missing.add(d);
                    w.attempts.add(d.entry.id());
                }
            }
            if (!names.isEmpty()) {
                w.actions.add(new Action("put back", r.name.display(), "dropped since the checkpoint: " + String.join(", ", names)
                        + " (created after the rows are in)"));
            }
        }
    }

    static String ownerOf(Facts f) {
        for (String stmt : f.statements) {
            String role = ownerTo(Sql.tokens(stmt));
            if (role != null) {
                return role;
            }
        }
        return null;
    }

    /** The role of an "ALTER ... OWNER TO role" statement, or null. */
    static String ownerTo(List<Sql.Token> t) {
        if (t.isEmpty() || !t.get(0).is("ALTER")) {
            return null;
        }
        for (int i = 1; i + 2 < t.size(); i++) {
            if (t.get(i).depth() == 0 && t.get(i).is("OWNER") && t.get(i + 1).is("TO")) {
                return t.get(i + 2).ident();
            }
        }
        return null;
    }

    static String ownerWarning(String object, String role, String why, String user) {
        return "owner of " + object + " not restored (it was " + role + "): " + why + "; it is owned by " + user
                + " now; a superuser or a member of " + role + " can run ALTER ... OWNER TO " + Sql.ident(role);
    }

    /** Why a GRANT/REVOKE cannot be run here (a grantee is missing), or null. */
    static String grantProblem(String stmt, Roles roles) {
        List<Sql.Token> t = Sql.tokens(stmt);
        if (t.isEmpty() || !(t.get(0).is("GRANT") || t.get(0).is("REVOKE"))) {
            if (!t.isEmpty() && t.get(0).is("SET") && Sql.startsWith(t, 1, "SESSION", "AUTHORIZATION") && !roles.superuser) {
                return "it was granted by another role, which only a superuser can act as";
            }
            return null;
        }
        int to = -1;
        for (int i = 0; i < t.size(); i++) {
            if (t.get(i).depth() == 0 && (t.get(i).is("TO") || t.get(i).is("FROM"))) {
                to = i;
            }
        }
        if (to < 0) {
            return null;
        }
        for (int i = to + 1; i < t.size(); i++) {
            Sql.Token k = t.get(i);
            if (k.is("WITH") || k.is("GRANTED") || k.is("CASCADE") || k.is("RESTRICT") || k.isPunct(';')) {
                break;
            }
            if (k.isPunct(',') || k.is("GROUP")) {
                continue;
            }
            String role = k.ident();
            if (role != null && !k.is("PUBLIC") && !roles.existing.contains(role)) {
                return "role " + role + " does not exist here";
            }
        }
        return null;
    }

    static String grantWarning(String stmt, String why) {
        return "not restored: " + stmt.replaceAll("\\s+", " ") + " (" + why + ")";
    }

    /** Data order: a refilled table after the refilled tables its live foreign keys reference; cycles are broken. */
    private static void planDataOrder(Connection c, Prepared p, Work w) throws SQLException {
        Map<Long, Relation> byOid = new HashMap<>();
        Map<Relation, List<Long>> ancestors = new HashMap<>();
        for (Relation r : w.refill) {
            long oid = w.live.get(r.name).oid();
            byOid.put(oid, r);
            ancestors.put(r, ancestors(c, oid));
        }
        Map<Relation, Set<Relation>> needs = new LinkedHashMap<>();
        Map<Relation, List<Fk>> keys = new HashMap<>();
        for (Relation r : w.refill) {
            needs.put(r, new LinkedHashSet<>());
            for (Fk fk : foreignKeys(c, "con.conrelid = ?", w.live.get(r.name).oid())) {
                for (Relation other : w.refill) {
                    if (other != r && ancestors.get(other).contains(fk.confrelid())) {
                        needs.get(r).add(other);
                        keys.computeIfAbsent(r, k -> new ArrayList<>()).add(fk);
                    }
                }
            }
        }
        List<Relation> ordered = new ArrayList<>();
        Set<Relation> done = new HashSet<>();
        boolean progressed = true;
        while (progressed) {
            progressed = false;
            for (Relation r : w.refill) {
                if (!done.contains(r) && done.containsAll(needs.get(r))) {
                    ordered.add(r);
                    done.add(r);
                    progressed = true;
                }
            }
        }
        Set<Long> cycleKeys = new LinkedHashSet<>();
        for (Relation r : w.refill) {
            if (!done.contains(r)) {
                ordered.add(r);
                for (Fk fk : keys.getOrDefault(r, List.of())) {
                    Relation target = w.refill.stream().filter(o -> ancestors.get(o).contains(fk.confrelid())).findFirst().orElse(null);
                    if (target != null && !done.contains(target)) {
                        cycleKeys.add(topConstraint(c, fk.oid()));
                    }
                }
            }
        }
        for (long oid : cycleKeys) {
            try (PreparedStatement st = c.prepareStatement("SELECT n.nspname, r.relname, con.conname, "
                    + "pg_catalog.pg_get_constraintdef(con.oid) FROM pg_catalog.pg_constraint con "
                    + "JOIN pg_catalog.pg_class r ON r.oid = con.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
                    + "WHERE con.oid = ?")) {
                st.setLong(1, oid);
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next()) {
                        QName table = new QName(rs.getString(1), rs.getString(2));
                        w.cycleKeys.add(new String[] {table.qualified(), Sql.ident(rs.getString(3)), rs.getString(4), table.display(), rs.getString(3)});
                        w.lock(table, "ACCESS EXCLUSIVE");
                    }
                }
            }
        }
        w.dataOrder = ordered;
    }

    private static long topConstraint(Connection c, long oid) throws SQLException {
        long current = oid;
        for (int i = 0; i < 100; i++) {
            try (PreparedStatement st = c.prepareStatement("SELECT conparentid FROM pg_catalog.pg_constraint WHERE oid = ?")) {
                st.setLong(1, current);
                try (ResultSet rs = st.executeQuery()) {
                    if (!rs.next() || rs.getLong(1) == 0) {
                        return current;
                    }
                    current = rs.getLong(1);
                }
            }
        }
        return current;
    }

    /** The ordered entries: pre-data of recreated relations, all data, post-data, late attachments, foreign keys in. */
    private static void buildScripts(Prepared p, Work w) {
        ArchiveSchema s = p.schema;
        Map<Integer, Integer> position = new HashMap<>();
        for (int i = 0; i < p.toc.entries().size(); i++) {
            position.put(p.toc.entries().get(i).id(), i);
        }
        Set<Integer> late = new HashSet<>();
        Set<QName> lateNames = w.lateAttach.stream().map(r -> r.name).collect(Collectors.toSet());
        Set<QName> recreatedNames = w.recreate.stream().map(r -> r.name).collect(Collectors.toSet());
        Set<Toc.Entry> definitions = new LinkedHashSet<>();
        for (Relation r : w.recreate) {
            definitions.add(r.facts.entry);
            boolean attachedEarly = r.attach != null && recreatedNames.contains(r.parent);
            if (attachedEarly) {
                definitions.add(r.attach);
            }
            for (Facts f : p.schema.belongings(r)) {
                if (w.skipped.contains(f.entry.id())) {
                    continue;
                }
                if (f.kind().equals("INDEX ATTACH") && lateNames.contains(r.name)) {
                    late.add(f.entry.id());
                    continue;
                }
                if (f.kind().equals("INDEX ATTACH") && !attachedEarly) {
                    continue;
                }
                definitions.add(f.entry);
            }
            // a sequence a default needs that is gone and owned elsewhere
            for (Facts f : p.schema.belongings(r)) {
                if (f.kind().equals("DEFAULT")) {
                    for (QName seq : f.sequences) {
                        Facts def = s.sequences.get(seq);
                        if (def != null && !w.skipped.contains(def.entry.id()) && !definitions.contains(def.entry)
                                && w.missingSequences.contains(seq)) {
                            definitions.add(def.entry);
                            Set<Integer> ids = Set.of(def.entry.id());
                            s.decorations(ids).forEach(d -> {
                                definitions.add(d.entry);
                                w.attempts.add(d.entry.id());
                            });
                        }
                    }
                }
            }
        }
        for (Facts f : w.missing) {
            definitions.add(f.entry);
        }
        List<Toc.Entry> pre = new ArrayList<>();
        List<Toc.Entry> post = new ArrayList<>();
        definitions.stream().sorted(Comparator.comparingInt(e -> position.get(e.id()))).forEach(e -> {
            if (position.get(e.id()) < p.dataStart) {
                pre.add(e);
            } else {
                post.add(e);
            }
        });
        List<Toc.Entry> script = new ArrayList<>(pre);
        for (Relation r : w.dataOrder) {
            script.add(r.data);
        }
        for (Relation r : w.recreate) {
            if (!r.partitioned() && r.data != null) {
                script.add(r.data);
            }
        }
        w.script = script;
        // Foreign keys last: they validate against partitions attached just before.
        List<Toc.Entry> after = new ArrayList<>(post.stream().filter(e -> !e.kind().equals("FK CONSTRAINT")).toList());
        List<Toc.Entry> keys = new ArrayList<>(post.stream().filter(e -> e.kind().equals("FK CONSTRAINT")).toList());
        for (Relation r : w.lateAttach) {
            after.add(r.attach);
            for (Facts f : p.schema.belongings(r)) {
                if (f.kind().equals("INDEX ATTACH") && (late.contains(f.entry.id()) || w.refill.contains(r))) {
                    after.add(f.entry);
                    w.attempts.add(f.entry.id());
                }
            }
        }
        after.addAll(keys);
        for (Facts fk : w.foreignKeysIn) {
            after.add(fk.entry);
        }
        w.postScript = after;
        List<Toc.Entry> mv = new ArrayList<>();
        for (Relation r : w.matviews) {
            mv.add(r.facts.entry);
            for (Facts f : p.schema.belongings(r)) {
                mv.add(f.entry);
                if (!f.kind().equals("INDEX")) {
                    w.attempts.add(f.entry.id());
                }
            }
            if (r.data != null) {
                mv.add(r.data);
            }
        }
        w.matviewScript = mv;
    }

    /** The human plan of a replace. */
    private void describeReplace(Connection c, Prepared p, Work w) throws SQLException {
        if (!w.locks.isEmpty()) {
            w.actions.add(new Action("lock", w.locks.size() + " table(s)", w.locks.entrySet().stream()
                    .map(e -> e.getKey().display() + " (" + e.getValue() + ")").collect(Collectors.joining(", "))
                    + "; waits at most " + p.request.lockTimeout().toMillis() / 1000.0 + "s for each, held until commit"));
        }
        Map<QName, List<Trigger>> byTable = new LinkedHashMap<>();
        for (Trigger t : w.triggers) {
            byTable.computeIfAbsent(t.table(), k -> new ArrayList<>()).add(t);
        }
        for (Map.Entry<QName, List<Trigger>> e : byTable.entrySet()) {
            w.actions.add(new Action("disable user triggers during the refill of", e.getKey().display(), e.getValue().stream()
                    .map(t -> t.name() + (t.state() == 'O' ? "" : " (" + t.stateName() + ")")).collect(Collectors.joining(", "))
                    + "; each returns to exactly its state before commit"));
        }
        for (String[] k : w.cycleKeys) {
            w.actions.add(new Action("drop and add back foreign key", k[4], "on " + k[3]
                    + " (the refilled tables reference each other in a cycle): " + k[2]));
        }
        for (Relation r : w.dataOrder) {
            Ledger.Entry e = p.ledger(r.name);
            w.actions.add(new Action("empty and refill", r.name.display(), (e == null ? "the checkpoint's rows" : e.rows() + " rows")
                    + " (TRUNCATE ONLY, then COPY)"));
        }
        for (Relation r : w.recreate) {
            w.actions.add(new Action("recreate", r.name.display(), recreationSummary(p, w, r)));
        }
        for (Relation r : w.lateAttach) {
            w.actions.add(new Action("attach", r.name.display(), "to " + r.parent + " " + bounds(p, r)
                    + (w.recreate.contains(r) ? " (after its rows and indexes are in)" : " (it was detached)")));
        }
        for (Facts fk : w.foreignKeysIn) {
            w.actions.add(new Action("recreate foreign key", fk.object, "of " + fk.target + " referencing " + fk.other
                    + "; validated, or added NOT VALID with a warning naming the rows' problem if existing rows break it"));
        }
        for (Relation r : w.matviews) {
            w.actions.add(new Action("recreate materialized view", r.name.display(), (w.dropMatviews.contains(r) ? "drop the live one, " : "")
                    + "create it as in the checkpoint and refresh it from the tables as they are after this restore"));
        }
        describeSequences(c, p, w);
        for (Relation r : p.chosen) {
            Ledger.Entry e = p.ledger(r.name);
            if (e == null && !r.partitioned() && !r.isMatview()) {
                w.warnings.add(r.name + " has no ledger entry: its rows are restored but cannot be checked against a count");
            }
        }
    }

    private static String bounds(Prepared p, Relation r) {
        Facts f = p.schema.facts.get(r.attach.id());
        for (String stmt : f.statements) {
            int i = stmt.indexOf(" FOR VALUES ");
            if (i >= 0) {
                return stmt.substring(i + 1, stmt.length() - 1);
            }
            if (stmt.endsWith(" DEFAULT;")) {
                return "as its DEFAULT partition";
            }
        }
        return "";
    }

    private static String recreationSummary(Prepared p, Work w, Relation r) {
        Map<String, List<String>> parts = new LinkedHashMap<>();
        for (Facts f : p.schema.belongings(r)) {
            if (w.skipped.contains(f.entry.id())) {
                continue;
            }
            String label = switch (f.kind()) {
                case "INDEX" -> "indexes";
                case "CONSTRAINT", "CHECK CONSTRAINT" -> "constraints";
                case "FK CONSTRAINT" -> "foreign keys";
                case "TRIGGER" -> "triggers";
                case "POLICY" -> "policies";
                case "RULE" -> "rules";
                case "SEQUENCE" -> "sequences";
                case "STATISTICS" -> "statistics";
                case "ACL" -> "grants";
                case "COMMENT" -> "comments";
                case "ROW SECURITY" -> "row level security";
                default -> null;
            };
            if (label == null) {
                continue;
            }
            String name = switch (f.kind()) {
                case "FK CONSTRAINT" -> f.object + " -> " + f.other;
                case "SEQUENCE" -> f.objectName == null ? "" : f.objectName.display();
                case "INDEX", "CONSTRAINT", "CHECK CONSTRAINT", "TRIGGER", "POLICY", "RULE" -> f.object;
                case "ACL" -> f.entry.label().replaceFirst(" [^ ]*$", "").replaceFirst("^[^ ]* ", "");
                default -> null;
            };
            parts.computeIfAbsent(label, k -> new ArrayList<>());
            if (name != null) {
                parts.get(label).add(name);
            }
        }
        StringBuilder sb = new StringBuilder(r.kind);
        Ledger.Entry e = p.ledger(r.name);
        if (!r.partitioned()) {
            sb.append(" with ").append(e == null ? "the checkpoint's" : String.valueOf(e.rows())).append(" rows");
        } else {
            sb.append(" with its ").append(r.partitions.size()).append(" partition(s)");
        }
        for (Map.Entry<String, List<String>> part : parts.entrySet()) {
            sb.append("; ").append(part.getKey());
            if (!part.getValue().isEmpty()) {
                sb.append(": ").append(String.join(", ", part.getValue()));
            }
        }
        String owner = ownerOf(r.facts);
        if (owner != null) {
            sb.append("; owner ").append(owner);
        }
        return sb.toString();
    }

    /** Sequences: from where to where (plan); the move itself happens in the transaction, after the refill. */
    private static void describeSequences(Connection c, Prepared p, Work w) throws SQLException {
        List<Long> oids = new ArrayList<>();
        for (Relation r : w.refill) {
            oids.addAll(ancestors(c, w.live.get(r.name).oid()));
        }
        for (SequenceUse u : sequenceUses(c, oids)) {
            if (u.next() == null || !u.updatable()) {
                w.warnings.add(sequenceWarning(u, w.roles.user));
                continue;
            }
            Facts ck = p.schema.sequenceSets.get(u.sequence());
            long ckNext = ck == null || ck.value == null ? u.next() : ck.called ? ck.value + u.increment() : ck.value;
            boolean forward = u.increment() > 0 ? ckNext > u.next() : ckNext < u.next();
            w.actions.add(new Action("move sequence", u.sequence().display(), "next value " + u.next()
                    + (forward ? " -> " + ckNext + " (the checkpoint's)" : " stays (the checkpoint's was " + ckNext + ")")
                    + ", further if a restored " + u.column() + " of " + u.tableName() + " is higher; never backwards"));
        }
        for (Relation r : w.recreate) {
            for (Facts f : p.schema.belongings(r)) {
                if (f.kind().equals("SEQUENCE") && !w.skipped.contains(f.entry.id()) && f.objectName != null) {
                    Facts ck = p.schema.sequenceSets.get(f.objectName);
                    w.actions.add(new Action("recreate sequence", f.objectName.display(), ck == null || ck.value == null ? ""
                            : "set to the checkpoint's value " + ck.value + (ck.called ? "" : " (not yet used)")
                            + ", or past the highest restored value if higher"));
                }
            }
        }
    }

    // --- sequences ----------------------------------------------------------------------------

    static String sequenceWarning(SequenceUse u, String user) {
        return "sequence " + u.sequence() + " (of " + u.tableName() + "." + u.column() + ") not moved: " + user
                + " may not read and update it; its next value may collide with restored rows: its owner can run "
                + "SELECT setval('" + u.sequence().qualified().replace("'", "''") + "', (SELECT max(" + Sql.ident(u.column()) + ") FROM "
                + u.tableName() + "))";
    }

    /** next is null when the restoring role may not read the sequence; updatable: it may setval it. */
    record SequenceUse(long oid, QName sequence, long table, String column, String type, long increment, long min, long max,
                       Long next, String tableName, boolean updatable) {
    }

    private static final String SEQUENCE_USES = """
            SELECT s.oid, sn.nspname, s.relname, a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, NULL),
                   q.seqincrement, q.seqmin, q.seqmax, pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname),
                   pg_catalog.has_sequence_privilege(s.oid, 'SELECT'), pg_catalog.has_sequence_privilege(s.oid, 'UPDATE')
              FROM pg_catalog.pg_depend d
              JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
              JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
              JOIN pg_catalog.pg_sequence q ON q.seqrelid = s.oid
              JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
              JOIN pg_catalog.pg_class t ON t.oid = a.attrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
             WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
               AND d.deptype IN ('a', 'i') AND d.refobjid = ANY (%1$s)
            UNION
            SELECT s.oid, sn.nspname, s.relname, a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, NULL),
                   q.seqincrement, q.seqmin, q.seqmax, pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname),
                   pg_catalog.has_sequence_privilege(s.oid, 'SELECT'), pg_catalog.has_sequence_privilege(s.oid, 'UPDATE')
              FROM pg_catalog.pg_attrdef ad
              JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.objid = ad.oid
                   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
              JOIN pg_catalog.pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
              JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
              JOIN pg_catalog.pg_sequence q ON q.seqrelid = s.oid
              JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
              JOIN pg_catalog.pg_class t ON t.oid = a.attrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
             WHERE ad.adrelid = ANY (%1$s)
             ORDER BY 2, 3, 5
            """;

    /** Every sequence owned by, or used as the default of, a column of the given tables, with its next value now. */
    private static List<SequenceUse> sequenceUses(Connection c, List<Long> tables) throws SQLException {
        if (tables.isEmpty()) {
            return List.of();
        }
        String array = "'{" + tables.stream().map(String::valueOf).collect(Collectors.joining(",")) + "}'::pg_catalog.oid[]";
        List<SequenceUse> raw = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(String.format(SEQUENCE_USES, array))) {
            while (rs.next()) {
                raw.add(new SequenceUse(rs.getLong(1), new QName(rs.getString(2), rs.getString(3)), rs.getLong(4), rs.getString(5),
                        rs.getString(6), rs.getLong(7), rs.getLong(8), rs.getLong(9), rs.getBoolean(11) ? 0L : null,
                        rs.getString(10), rs.getBoolean(12)));
            }
        }
        List<SequenceUse> out = new ArrayList<>();
        for (SequenceUse u : raw) {
            if (u.next() == null) {
                out.add(u);
                continue;
            }
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT last_value, is_called FROM " + u.sequence().qualified())) {
                rs.next();
                long last = rs.getLong(1);
                long next = rs.getBoolean(2) ? last + u.increment() : last;
                out.add(new SequenceUse(u.oid(), u.sequence(), u.table(), u.column(), u.type(), u.increment(), u.min(), u.max(), next,
                        u.tableName(), u.updatable()));
            }
        }
        return out;
    }

    /**
     * Moves each sequence of the restored tables so that its next value is past the checkpoint's, past
     * the highest restored value of its column and not before where it is now.
     */
    private static List<Action> moveSequences(Connection c, Prepared p, List<Long> tables, RestoreScript run, List<String> warnings,
                                              String user) throws SQLException {
        List<Action> done = new ArrayList<>();
        Set<Long> seen = new HashSet<>();
        List<SequenceUse> uses = sequenceUses(c, tables);
        Map<Long, Long> wanted = new LinkedHashMap<>();
        Map<Long, SequenceUse> byOid = new LinkedHashMap<>();
        for (SequenceUse u : uses) {
            if (u.next() == null || !u.updatable()) {
                String warning = sequenceWarning(u, user);
                if (!warnings.contains(warning)) {
                    warnings.add(warning);
                }
                continue;
            }
            byOid.putIfAbsent(u.oid(), u);
            boolean up = u.increment() > 0;
            long target = wanted.getOrDefault(u.oid(), u.next());
            Facts ck = p.schema.sequenceSets.get(u.sequence());
            if (ck != null && ck.value != null) {
                long ckNext = ck.called ? ck.value + u.increment() : ck.value;
                target = up ? Math.max(target, ckNext) : Math.min(target, ckNext);
            }
            if (Set.of("smallint", "integer", "bigint").contains(u.type())) {
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT " + (up ? "max(" : "min(")
                        + Sql.ident(u.column()) + ") FROM " + u.tableName())) {
                    rs.next();
                    long extreme = rs.getLong(1);
                    if (!rs.wasNull()) {
                        target = up ? Math.max(target, extreme + u.increment()) : Math.min(target, extreme + u.increment());
                    }
                }
            }
            wanted.put(u.oid(), target);
        }
        for (Map.Entry<Long, Long> e : wanted.entrySet()) {
            SequenceUse u = byOid.get(e.getKey());
            long target = e.getValue();
            if (!seen.add(u.oid()) || target == u.next()) {
                continue;
            }
            boolean up = u.increment() > 0;
            long last = target - u.increment();
            String sql;
            if ((up && last < u.min()) || (!up && last > u.max())) {
                sql = "SELECT pg_catalog.setval(" + u.oid() + "::pg_catalog.regclass, " + target + ", false)";
            } else {
                sql = "SELECT pg_catalog.setval(" + u.oid() + "::pg_catalog.regclass, " + last + ", true)";
            }
            run.exec(sql);
            done.add(new Action("moved sequence", u.sequence().display(), "next value " + u.next() + " -> " + target));
        }
        return done;
    }

    // --- running a replace ----------------------------------------------------------------------

    private Report replace(Prepared p, Connection c, long started) throws SQLException {
        RestoreScript run = new RestoreScript(c);
        run.exec("SET LOCAL lock_timeout = '" + Math.max(1, p.request.lockTimeout().toMillis()) + "ms'");
        run.exec("SET LOCAL statement_timeout = 0");
        Set<String> held = new HashSet<>();
        Work w;
        for (int round = 0; ; round++) {
            w = planReplace(p, c);
            if (!w.blockers.isEmpty()) {
                throw new CheckpointException("restore.blocked", String.join("; ", w.blockers));
            }
            List<Map.Entry<QName, String>> missing = w.locks.entrySet().stream()
                    .filter(e -> !held.contains(e.getKey().qualified() + "|" + e.getValue()))
                    .sorted(Comparator.comparingInt((Map.Entry<QName, String> e) -> -Work.strength(e.getValue()))
                            .thenComparing(e -> e.getKey().display()))
                    .toList();
            if (missing.isEmpty() && round > 0) {
                break;
            }
            if (round >= 4) {
                throw new CheckpointException("restore.changing", "the tables to restore keep changing while the restore "
                        + "locks them (another migration running?): nothing changed; run the restore again when it is done");
            }
            for (Map.Entry<QName, String> e : missing) {
                lock(run, e.getKey(), e.getValue(), p);
                held.add(e.getKey().qualified() + "|" + e.getValue());
            }
        }
        progress.step("replacing " + p.chosen.stream().map(r -> r.name.display()).toList() + " in " + p.request.target().describe());
        List<Action> done = new ArrayList<>();
        ReplacePolicy policy = new ReplacePolicy(w, done, p.schema);
        for (Trigger t : w.triggers) {
            run.exec("ALTER TABLE ONLY " + t.table().qualified() + " DISABLE TRIGGER " + Sql.ident(t.name()));
        }
        for (String[] k : w.cycleKeys) {
            run.exec("ALTER TABLE " + k[0] + " DROP CONSTRAINT " + k[1]);
        }
        if (!w.truncate.isEmpty()) {
            run.exec("TRUNCATE " + String.join(", ", w.truncate));
        }
        runScript(p, run, w.script, List.of(), policy, "refilling");
        // Deferred foreign key checks of the refill run now: ALTER TABLE refuses tables with pending ones.
        run.exec("SET CONSTRAINTS ALL IMMEDIATE");
        runScript(p, run, w.postScript, List.of(), policy, "recreating indexes, constraints and triggers");
        for (String[] k : w.cycleKeys) {
            run.exec("ALTER TABLE " + k[0] + " ADD CONSTRAINT " + k[1] + " " + k[2]);
        }
        for (Trigger t : w.triggers) {
            String how = switch (t.state()) {
                case 'R' -> "ENABLE REPLICA TRIGGER ";
                case 'A' -> "ENABLE ALWAYS TRIGGER ";
                default -> "ENABLE TRIGGER ";
            };
            run.exec("ALTER TABLE ONLY " + t.table().qualified() + " " + how + Sql.ident(t.name()));
        }
        for (Relation r : w.dropMatviews) {
            run.exec("DROP MATERIALIZED VIEW " + r.name.qualified());
        }
        runScript(p, run, w.matviewScript, List.of(), policy, "recreating materialized views");
        // Sequences and counts, inside the transaction: the report is what commits.
        List<Long> tables = new ArrayList<>();
        for (Relation r : p.chosen) {
            Live l = live(c, r.name);
            if (l != null && !r.isMatview()) {
                tables.addAll(l.partition() ? ancestors(c, l.oid()) : List.of(l.oid()));
            }
        }
        done.addAll(moveSequences(c, p, new ArrayList<>(new LinkedHashSet<>(tables)), run, policy.warnings, w.roles.user));
        List<TableResult> results = count(c, p, null);
        done.addAll(0, w.actions.stream().filter(a -> !a.what().equals("move sequence")).toList());
        commit(c, p);
        for (TableResult t : results) {
            progress.step(t.restoredAs() + ": " + t.restoredRows() + " rows restored, ledger says " + t.ledgerRows());
        }
        List<String> warnings = new ArrayList<>(w.warnings);
        for (String warning : policy.warnings) {
            if (!warnings.contains(warning)) {
                warnings.add(warning);
            }
        }
        warnings.forEach(x -> progress.step("warning: " + x));
        return new Report(p.manifest.tag(), modeName(Mode.REPLACE), p.request.target().describe(), results,
                results.stream().allMatch(TableResult::matches), Sealer.millisSince(started), done, warnings);
    }

    /**
     * Takes a lock up front. A role may lack the privileges LOCK TABLE wants (e.g. it holds only
     * REFERENCES on a table a foreign key points to); then the statement that needs the lock takes
     * it itself, bounded by the same lock_timeout.
     */
    private static void lock(RestoreScript run, QName table, String mode, Prepared p) throws SQLException {
        SQLException e = run.attempt("LOCK TABLE ONLY " + table.qualified() + " IN " + mode + " MODE");
        if (e == null || "42501".equals(e.getSQLState())) {
            return;
        }
        if ("55P03".equals(e.getSQLState()) || "40P01".equals(e.getSQLState())) {
            throw new CheckpointException("restore.locked", "could not lock " + table + " within "
                    + p.request.lockTimeout().toMillis() / 1000.0 + "s: other sessions are using it (see pg_stat_activity); "
                    + "nothing changed; retry when they are done, or allow a longer wait with --lock-timeout", e);
        }
        throw e;
    }

    private void runScript(Prepared p, RestoreScript run, List<Toc.Entry> entries, List<String> flags,
                           RestoreScript.Policy policy, String doing) {
        try {
            run.run(p.toc, entries, flags, policy);
        } catch (RestoreScript.Failure f) {
            String hint = switch (f.sqlState() == null ? "" : f.sqlState()) {
                case "42703" -> " The table's columns changed since the checkpoint: restore it side by side, or drop it and"
                        + " restore again so that it is recreated as it was.";
                case "23514" -> " Rows written since the checkpoint sit where this partition's rows belong (often the default"
                        + " partition): restore that partition too, or move those rows first.";
                case "23503" -> " The rows refer to rows that are not there: restore the referenced table too.";
                case "55P03" -> " Another session holds a lock it needs: retry when it is done, or raise --lock-timeout.";
                default -> "";
            };
            throw new CheckpointException("restore.failed", doing + " failed at " + describeEntry(p.schema, f.entry) + ": "
                    + f.getMessage() + "." + hint + " The transaction was rolled back: nothing changed in "
                    + p.request.target().describe(), f.cause);
        }
    }

    /** Counts every restored relation inside the transaction; a table that disagrees with the ledger rolls everything back. */
    private static List<TableResult> count(Connection c, Prepared p, Map<QName, QName> rename) throws SQLException {
        List<TableResult> results = new ArrayList<>();
        for (Relation r : p.chosen) {
            if (r.partitioned()) {
                continue;
            }
            QName as = rename == null ? r.name : rename.get(r.name);
            if (r.isMatview() && r.data == null) {
                results.add(new TableResult(r.name.display(), as.display(), r.kind, -1, 0, true, "not populated, as in the checkpoint"));
                continue;
            }
            long rows;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM ONLY " + as.qualified())) {
                rs.next();
                rows = rs.getLong(1);
            }
            Ledger.Entry e = p.ledger(r.name);
            long ledger = e == null ? -1 : e.rows();
            boolean matches = e == null || ledger == rows;
            String note = null;
            if (r.isMatview()) {
                note = "refreshed from the tables it reads as they are now" + (matches ? "" : "; the checkpoint had " + ledger + " rows");
                matches = true;
            } else if (e == null) {
                note = "no ledger entry to check against";
            } else if (!matches) {
                throw new CheckpointException("restore.mismatch", "the archive's rows for " + r.name + " number " + rows
                        + " but the ledger says " + ledger + ": the transaction was rolled back, nothing changed; "
                        + "the checkpoint may be damaged: run pgcheckpoint drill --tag " + p.manifest.tag());
            }
            results.add(new TableResult(r.name.display(), as.display(), r.kind, ledger, rows, matches, note));
        }
        return results;
    }

    private static void commit(Connection c, Prepared p) {
        try {
            c.commit();
        } catch (SQLException e) {
            if (RestoreScript.isConnectionFailure(e)) {
                throw new CheckpointException("restore.commit-unknown", "the connection to " + p.request.target().describe()
                        + " broke while committing (" + e.getMessage() + "): the restore may or may not have committed; "
                        + "compare the tables with 'pgcheckpoint diff --tag " + p.manifest.tag() + "' before doing anything else", e);
            }
            throw new CheckpointException("restore.failed", "the restore could not commit (" + RestoreScript.describe(e)
                    + "): the transaction was rolled back, nothing changed in " + p.request.target().describe(), e);
        }
    }

    private static void rollbackQuietly(Connection c) {
        try {
            c.rollback();
        } catch (SQLException ignored) {
            // closing the connection rolls back too
        }
    }

    /** How a replace runs each statement of the archive's SQL. */
    private static final class ReplacePolicy implements RestoreScript.Policy {
        private final Work w;
        private final List<Action> done;
        final List<String> warnings = new ArrayList<>();
        private boolean foreignAuthorization;

        private final ArchiveSchema schema;

        ReplacePolicy(Work w, List<Action> done, ArchiveSchema schema) {
            this.w = w;
            this.done = done;
            this.schema = schema;
        }

        @Override
        public void statement(Toc.Entry entry, String sql, List<Sql.Token> t, RestoreScript run) throws SQLException {
            if (t.get(0).is("SET") && Sql.startsWith(t, 1, "SESSION", "AUTHORIZATION")
                    || t.get(0).is("RESET") && Sql.startsWith(t, 1, "SESSION", "AUTHORIZATION")) {
                foreignAuthorization = t.get(0).is("SET");
                if (w.roles.superuser) {
                    run.exec(sql);
                }
                return;
            }
            if (t.get(0).is("SET") || t.get(0).is("RESET")) {
                run.exec(sql);
                return;
            }
            if (t.get(0).is("SELECT")) {
                if (sql.contains("pg_catalog.setval(")) {
                    return; // sequences are moved after the refill, never backwards
                }
                run.exec(sql);
                return;
            }
            if (foreignAuthorization && !w.roles.superuser) {
                warn(grantWarning(sql, "it was granted by another role, which only a superuser can act as"));
                return;
            }
            String owner = ownerTo(t);
            if (owner != null) {
                String object = sql.substring(t.get(1).start(), t.get(Math.max(1, indexOf(t, "OWNER"))).start()).strip();
                String why = w.roles.cannotOwnAs(owner);
                if (why != null) {
                    warn(ownerWarning(entry != null && entry.kind().equals("TABLE") ? displayOf(object) : object, owner, why, w.roles.user));
                    return;
                }
                SQLException e = run.attempt(sql);
                if (e != null) {
                    warn("owner of " + object + " not restored (it was " + owner + "): " + RestoreScript.describe(e));
                }
                return;
            }
            if (t.get(0).is("GRANT") || t.get(0).is("REVOKE")) {
                String why = grantProblem(sql, w.roles);
                if (why != null) {
                    warn(grantWarning(sql, why));
                    return;
                }
                SQLException e = run.attempt(sql);
                if (e != null) {
                    warn(grantWarning(sql, RestoreScript.describe(e)));
                }
                return;
            }
            if (entry != null && w.foreignKeyEntries.contains(entry.id()) && t.get(0).is("ALTER")) {
                foreignKey(entry, sql, run);
                return;
            }
            if (entry != null && w.attempts.contains(entry.id())) {
                SQLException e = run.attempt(sql);
                if (e != null) {
                    warn("not restored: " + describeEntry(schema, entry) + ": " + RestoreScript.describe(e));
                }
                return;
            }
            run.exec(sql);
        }

        private void foreignKey(Toc.Entry entry, String sql, RestoreScript run) throws SQLException {
            Facts f = schema.facts.get(entry.id());
            String key = f == null || f.object == null ? entry.label() : f.object;
            String table = f == null || f.target == null ? "its table" : f.target.display();
            SQLException e = run.attempt(sql);
            if (e == null) {
                return;
            }
            String notValid = sql.substring(0, sql.lastIndexOf(';')).stripTrailing() + " NOT VALID;";
            SQLException again = run.attempt(notValid);
            if (again == null) {
                warn("foreign key " + key + " of " + table + " recreated NOT VALID: existing rows break it ("
                        + RestoreScript.describe(e) + "); new rows are checked; fix those rows, then run ALTER TABLE "
                        + (f == null || f.target == null ? table : f.target.qualified()) + " VALIDATE CONSTRAINT " + Sql.ident(key));
            } else {
                warn("foreign key " + key + " of " + table + " not recreated: " + RestoreScript.describe(again));
            }
        }

        private void warn(String s) {
            if (!warnings.contains(s) && !w.warnings.contains(s)) {
                warnings.add(s);
            }
        }
    }

    /** An archive entry as people would name it: "TRIGGER orders_touch on public.orders", "rows of public.orders". */
    static String describeEntry(ArchiveSchema schema, Toc.Entry e) {
        if (e == null) {
            return "the script's preamble";
        }
        Facts f = schema.facts.get(e.id());
        if (e.kind().equals("TABLE DATA") || e.kind().equals("MATERIALIZED VIEW DATA")) {
            Relation r = schema.relations.values().stream().filter(x -> x.data == e).findFirst().orElse(null);
            return r == null ? RestoreScript.label(e) : "the rows of " + r.name;
        }
        if (f == null) {
            return RestoreScript.label(e);
        }
        if (f.object != null && f.target != null) {
            return e.kind() + " " + f.object + " on " + f.target;
        }
        if (f.objectName != null) {
            return e.kind() + " " + f.objectName;
        }
        if (f.target != null) {
            return e.kind() + " " + f.target;
        }
        return RestoreScript.label(e);
    }

    private static int indexOf(List<Sql.Token> t, String keyword) {
        for (int i = 0; i < t.size(); i++) {
            if (t.get(i).depth() == 0 && t.get(i).is(keyword)) {
                return i;
            }
        }
        return -1;
    }

    /** "TABLE public.orders" -> "public.orders", as people write it. */
    private static String displayOf(String object) {
        List<Sql.Token> t = Sql.tokens(object);
        for (int i = 0; i < t.size(); i++) {
            Sql.Name n = Sql.name(t, i);
            if (n != null && n.parts().size() == 2) {
                return n.parts().get(0) + "." + n.parts().get(1);
            }
        }
        return object;
    }

    private static String names(List<QName> names) {
        return names.stream().map(QName::display).collect(Collectors.joining(", "));
    }

    // --- side by side ----------------------------------------------------------------------------

    private Work planSideBySide(Prepared p, Connection c) throws SQLException {
        Work w = new Work();
        w.roles = new Roles(c);
        Set<QName> chosen = p.chosen.stream().map(r -> r.name).collect(Collectors.toSet());
        for (Relation r : p.chosen) {
            QName as = new QName(p.into, r.name.name());
            if (w.rename.containsValue(as)) {
                w.blockers.add("two tables named " + r.name.name() + " cannot both be restored into " + p.into
                        + ": restore them one at a time with different --into-schema");
            }
            w.rename.put(r.name, as);
            if (live(c, as) != null) {
                w.blockers.add(as + " already exists in " + p.request.target().describe()
                        + ": drop it or choose another schema with --into-schema");
            }
        }
        // Inheritance children need their parents' columns: parents that are not restored come along as
        // temporary tables in the restored schema, are disinherited and dropped before commit.
        Deque<QName> parents = new ArrayDeque<>();
        for (Relation r : p.chosen) {
            parents.addAll(r.facts.inherits);
        }
        int n = 0;
        while (!parents.isEmpty()) {
            QName parent = parents.poll();
            if (chosen.contains(parent) || w.rename.containsKey(parent)) {
                continue;
            }
            Relation pr = p.schema.relation(parent);
            if (pr == null) {
                w.blockers.add("the checkpoint lacks " + parent + ", a parent of a table to restore");
                continue;
            }
            QName tmp;
            do {
                tmp = new QName(p.into, "pgcheckpoint_parent_" + (++n));
            } while (live(c, tmp) != null);
            w.rename.put(parent, tmp);
            w.temporary.add(parent);
            parents.addAll(pr.facts.inherits);
        }
        for (Relation r : p.chosen) {
            QName as = w.rename.get(r.name);
            String what;
            if (r.isMatview()) {
                what = "materialized view with the checkpoint's definition, refreshed from the live tables it reads"
                        + " (its rows are today's, not the checkpoint's)";
            } else if (r.partitioned()) {
                what = "partitioned table, with its partitions attached: " + r.partitions.stream()
                        .map(x -> w.rename.get(x).display()).collect(Collectors.joining(", "));
            } else {
                Ledger.Entry e = p.ledger(r.name);
                what = "table with " + (e == null ? "the checkpoint's" : String.valueOf(e.rows())) + " rows";
                if (r.parent != null && !chosen.contains(r.parent)) {
                    what += ", as a plain table (its partitioned parent " + r.parent + " is not restored)";
                } else if (r.parent != null) {
                    what += ", attached to " + w.rename.get(r.parent).display();
                }
                List<QName> tempParents = r.facts.inherits.stream().filter(w.temporary::contains).toList();
                if (!tempParents.isEmpty()) {
                    what += ", as a plain table with all its columns (inherited from " + names(tempParents) + ")";
                }
            }
            w.actions.add(new Action("create", as.display(), what));
        }
        w.actions.add(new Action("leave untouched", "every live object", "only CREATE TABLE, COPY, ATTACH between restored "
                + "tables and column storage/statistics/replica identity settings run, all naming " + p.into
                + "; indexes, keys, defaults on sequences, identity, triggers, policies, grants and comments are left out"));
        // The script: parents (temporary or not) before children, as the archive orders them, then attachments, rows, views.
        Map<Integer, Integer> position = new HashMap<>();
        for (int i = 0; i < p.toc.entries().size(); i++) {
            position.put(p.toc.entries().get(i).id(), i);
        }
        List<Toc.Entry> tables = new ArrayList<>();
        for (QName q : w.rename.keySet()) {
            Relation r = p.schema.relation(q);
            if (r != null && !r.isMatview()) {
                tables.add(r.facts.entry);
            }
        }
        tables.sort(Comparator.comparingInt(e -> position.get(e.id())));
        List<Toc.Entry> script = new ArrayList<>(tables);
        for (Relation r : p.chosen) {
            if (r.attach != null && chosen.contains(r.parent)) {
                script.add(r.attach);
            }
        }
        for (Relation r : p.chosen) {
            if (!r.partitioned() && !r.isMatview() && r.data != null) {
                script.add(r.data);
            }
        }
        for (Relation r : p.chosen) {
            if (r.isMatview()) {
                script.add(r.facts.entry);
                if (r.data != null) {
                    script.add(r.data);
                }
            }
        }
        w.script = script;
        for (Relation r : p.chosen) {
            for (QName parent : r.facts.inherits) {
                if (w.temporary.contains(parent)) {
                    w.after.add("ALTER TABLE " + w.rename.get(r.name).qualified() + " NO INHERIT " + w.rename.get(parent).qualified());
                }
            }
        }
        if (!w.temporary.isEmpty()) {
            w.after.add("DROP TABLE " + w.temporary.stream().map(q -> w.rename.get(q).qualified()).collect(Collectors.joining(", ")));
        }
        return w;
    }

    private Report sideBySide(Prepared p, Connection c, long started) throws SQLException {
        RestoreScript run = new RestoreScript(c);
        run.exec("SET LOCAL lock_timeout = '" + Math.max(1, p.request.lockTimeout().toMillis()) + "ms'");
        run.exec("SET LOCAL statement_timeout = 0");
        run.exec("CREATE SCHEMA IF NOT EXISTS " + Sql.ident(p.into));
        Work w = planSideBySide(p, c);
        if (!w.blockers.isEmpty()) {
            String code = w.blockers.stream().anyMatch(b -> b.contains("already exists")) ? "restore.exists" : "restore.blocked";
            throw new CheckpointException(code, String.join("; ", w.blockers));
        }
        progress.step("restoring side by side into schema " + p.into + ": " + p.chosen.stream().map(r -> r.name.display()).toList());
        SideBySidePolicy policy = new SideBySidePolicy(w.rename, p.into);
        runScript(p, run, w.script, List.of("--no-owner", "--no-privileges", "--no-comments", "--no-security-labels"),
                policy, "restoring side by side");
        for (String sql : w.after) {
            run.exec(sql);
        }
        List<TableResult> results = count(c, p, w.rename);
        commit(c, p);
        for (TableResult t : results) {
            progress.step(t.restoredAs() + ": " + t.restoredRows() + " rows restored, ledger says " + t.ledgerRows());
        }
        List<String> warnings = new ArrayList<>(w.warnings);
        if (!policy.skipped.isEmpty()) {
            warnings.add("left out " + policy.skipped.size() + " statement(s) that do not only name " + p.into + ": "
                    + policy.skipped.stream().limit(3).map(x -> x.length() > 120 ? x.substring(0, 120) + "…" : x)
                    .collect(Collectors.joining(" | ")));
        }
        return new Report(p.manifest.tag(), modeName(Mode.SIDE_BY_SIDE), p.request.target().describe(), results,
                results.stream().allMatch(TableResult::matches), Sealer.millisSince(started), w.actions, warnings);
    }

}
