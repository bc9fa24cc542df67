package io.pgcheckpoint.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * When a table's data is in: {@code pg_restore --jobs=N --verbose} (N &gt; 1) prints, from its
 * leader, {@code pg_restore: finished item 3355 TABLE DATA orders} once the worker that loaded
 * item 3355 has reported back, which it does only after its COPY (and the transaction around
 * it) committed. pg_restore 15, 17 and 18 print the same line (DataLoadsTest holds their output).
 * <p>
 * The drill counts such a table while pg_restore goes on building indexes, and counts every
 * other table after pg_restore has exited, as before. A line that is not recognised, an item
 * the table of contents does not name unambiguously, a serial restore (no such lines): each
 * leaves its table to the count after the restore.
 */
final class DataLoads {
    private DataLoads() {
    }

    /** The leader's line; the tag is the table's name, without its schema. */
    private static final Pattern FINISHED = Pattern.compile("^pg_restore: finished item (\\d+) TABLE DATA (.+)$");

    /** A TABLE DATA item pg_restore says it has finished, and the table name it printed with it. */
    record Finished(int item, String tag) {
    }

    /** Any item finished (an index, a constraint...): a lock pg_restore held may be free now. */
    static boolean anyFinished(String line) {
        return line.startsWith("pg_restore: finished item ");
    }

    /** What a line of pg_restore's stderr says, if it says a TABLE DATA item finished. */
    static Optional<Finished> finished(String line) {
        Matcher m = FINISHED.matcher(line);
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Finished(Integer.parseInt(m.group(1)), m.group(2)));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * The ledger tables that may be counted as soon as their TABLE DATA item has finished, by
     * item id. Left out, so counted after the restore:
     * <ul>
     * <li>partitions: a dump that loads data through the partition root (pg_dump
     *     --load-via-partition-root, which pg_dump also chooses by itself for some hash-partitioned
     *     tables) routes one item's rows into other partitions, so a partition is only complete
     *     when every item is;</li>
     * <li>items whose list line ({@code 3355; 0 16385 TABLE DATA schema name owner}, names
     *     unquoted) fits more than one ledger table, or none;</li>
     * <li>tables with more than one TABLE DATA item.</li>
     * </ul>
     */
    static Map<Integer, Ledger.Entry> countable(List<Toc.Entry> toc, List<Ledger.Entry> ledger) {
        Map<Integer, Ledger.Entry> result = new HashMap<>();
        Map<Ledger.Entry, Integer> items = new HashMap<>();
        List<Ledger.Entry> twice = new ArrayList<>();
        for (Toc.Entry item : toc) {
            if (!"TABLE DATA".equals(item.kind())) {
                continue;
            }
            List<Ledger.Entry> fitting = ledger.stream().filter(e -> names(item.label(), e)).toList();
            if (fitting.size() != 1) {
                continue;
            }
            Ledger.Entry table = fitting.get(0);
            if (table.isMaterializedView() || "partition".equals(table.kind())) {
                continue;
            }
            if (items.putIfAbsent(table, item.id()) != null) {
                twice.add(table);
            }
            result.put(item.id(), table);
        }
        for (Ledger.Entry table : twice) {
            result.values().removeIf(table::equals);
        }
        return result;
    }

    /**
     * A TABLE DATA label is "schema name owner", or "schema name" without an owner. Names with
     * spaces can make a label fit two tables; every table with data is in the ledger, so the item's
     * own table is always among those that fit, and two that fit leave the item out.
     */
    private static boolean names(String label, Ledger.Entry table) {
        String prefix = table.schema() + " " + table.name();
        return label.equals(prefix) || label.startsWith(prefix + " ");
    }

    /**
     * The table to count now that {@code line} was printed: a countable item, finished, whose
     * printed name is the table's own; else empty.
     */
    static Optional<Ledger.Entry> loaded(String line, Map<Integer, Ledger.Entry> countable) {
        return finished(line).flatMap(f -> Optional.ofNullable(countable.get(f.item()))
                .filter(table -> table.name().equals(f.tag())));
    }
}
