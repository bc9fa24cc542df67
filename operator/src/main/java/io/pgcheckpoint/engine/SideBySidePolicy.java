package io.pgcheckpoint.engine;

import io.pgcheckpoint.engine.ArchiveSchema.QName;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Side by side: a statement runs only when every object it creates or alters is in the restored
 * schema; names are rewritten with exact, quote-aware parsing; anything else is left out.
 */
final class SideBySidePolicy implements RestoreScript.Policy {
    private final Map<QName, QName> rename;
    private final String into;
    final List<String> skipped = new ArrayList<>();

    SideBySidePolicy(Map<QName, QName> rename, String into) {
        this.rename = rename;
        this.into = into;
    }

    @Override
    public void statement(Toc.Entry entry, String sql, List<Sql.Token> t, RestoreScript run) throws SQLException {
        String rewritten = rewrite(sql, t);
        if (rewritten == null) {
            skipped.add(sql.replaceAll("\\s+", " "));
            return;
        }
        run.exec(rewritten);
    }

    @Override
    public String copy(Toc.Entry entry, String sql) {
        List<Sql.Token> t = Sql.tokens(sql);
        Sql.Name n = Sql.name(t, 1);
        QName to = n == null ? null : rename.get(QName.of(n));
        if (to == null) {
            throw new CheckpointException("restore.render", "unexpected COPY in the archive's SQL: " + sql);
        }
        return replace(sql, List.of(new int[] {n.start(), n.end()}), List.of(to.qualified()));
    }

    /** The statement naming only restored objects, or null to leave it out. */
    String rewrite(String sql, List<Sql.Token> t) {
        Sql.Token first = t.get(0);
        if (first.is("SET") && !Sql.startsWith(t, 1, "SESSION", "AUTHORIZATION") || first.is("SELECT") && sql.contains("pg_catalog.set_config(")) {
            return sql;
        }
        List<int[]> spans = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        if (first.is("CREATE")) {
            int i = 1;
            while (i < t.size() && (t.get(i).is("UNLOGGED") || t.get(i).is("GLOBAL") || t.get(i).is("LOCAL")
                    || t.get(i).is("TEMP") || t.get(i).is("TEMPORARY") || t.get(i).is("MATERIALIZED"))) {
                i++;
            }
            boolean table = i < t.size() && t.get(i).is("TABLE");
            boolean matview = i < t.size() && t.get(i).is("VIEW") && t.get(i - 1).is("MATERIALIZED");
            if (!table && !matview) {
                return null;
            }
            Sql.Name n = Sql.name(t, i + 1);
            QName to = n == null ? null : rename.get(QName.of(n));
            if (to == null) {
                return null;
            }
            spans.add(new int[] {n.start(), n.end()});
            texts.add(to.qualified());
            if (table) {
                for (int k = n.nextToken(); k + 1 < t.size(); k++) {
                    Sql.Token a = t.get(k);
                    if (a.depth() == 0 && (a.is("INHERITS") || a.is("PARTITION") && t.get(k + 1).is("OF"))) {
                        int j = a.is("INHERITS") ? k + 2 : k + 2;
                        while (j < t.size()) {
                            Sql.Name parent = Sql.name(t, j);
                            if (parent == null) {
                                break;
                            }
                            QName mapped = rename.get(QName.of(parent));
                            if (mapped == null) {
                                throw new CheckpointException("restore.side-by-side", "cannot restore " + QName.of(n)
                                        + " side by side: its definition needs " + QName.of(parent) + ", which is not restored with it");
                            }
                            spans.add(new int[] {parent.start(), parent.end()});
                            texts.add(mapped.qualified());
                            j = parent.nextToken();
                            if (a.is("INHERITS") && j < t.size() && t.get(j).isPunct(',')) {
                                j++;
                            } else {
                                break;
                            }
                        }
                    }
                    if (a.depth() == 1 && a.is("DEFAULT")) {
                        int end = defaultEnd(t, k + 1);
                        boolean sequence = false;
                        for (int j = k + 1; j < end; j++) {
                            if ("nextval".equals(t.get(j).ident())) {
                                sequence = true;
                            }
                        }
                        if (sequence) {
                            spans.add(new int[] {a.start(), t.get(end - 1).end()});
                            texts.add("");
                        }
                    }
                }
            }
            return replace(sql, spans, texts);
        }
        if (first.is("ALTER") && t.size() > 2 && t.get(1).is("TABLE")) {
            int i = 2;
            if (Sql.startsWith(t, i, "ONLY")) {
                i++;
            }
            Sql.Name n = Sql.name(t, i);
            QName to = n == null ? null : rename.get(QName.of(n));
            if (to == null) {
                return null;
            }
            spans.add(new int[] {n.start(), n.end()});
            texts.add(to.qualified());
            int k = n.nextToken();
            while (k < t.size() && !t.get(k).isPunct(';')) {
                int end = k;
                while (end < t.size() && !(t.get(end).depth() == 0 && (t.get(end).isPunct(',') || t.get(end).isPunct(';')))) {
                    end++;
                }
                if (!allowedSubcommand(t, k, end, spans, texts)) {
                    return null;
                }
                k = end + 1;
            }
            return replace(sql, spans, texts);
        }
        if (first.is("REFRESH") && Sql.startsWith(t, 1, "MATERIALIZED", "VIEW")) {
            Sql.Name n = Sql.name(t, 3);
            QName to = n == null ? null : rename.get(QName.of(n));
            if (to == null) {
                return null;
            }
            return replace(sql, List.of(new int[] {n.start(), n.end()}), List.of(to.qualified()));
        }
        return null;
    }

    /** ALTER TABLE subcommands that only change the restored table itself. */
    private boolean allowedSubcommand(List<Sql.Token> t, int from, int to, List<int[]> spans, List<String> texts) {
        if (from >= to) {
            return true;
        }
        Sql.Token a = t.get(from);
        if (a.is("ALTER")) {
            int k = from + 1;
            if (k < to && t.get(k).is("COLUMN")) {
                k++;
            }
            k++; // the column
            if (Sql.startsWith(t, k, "SET", "STATISTICS") || Sql.startsWith(t, k, "SET", "STORAGE")
                    || Sql.startsWith(t, k, "SET", "COMPRESSION") || Sql.startsWith(t, k, "SET", "NOT", "NULL")
                    || Sql.startsWith(t, k, "DROP", "NOT", "NULL") || Sql.startsWith(t, k, "RESET")
                    || (Sql.startsWith(t, k, "SET") && k + 1 < to && t.get(k + 1).isPunct('('))) {
                return true;
            }
            return false;
        }
        if (a.is("REPLICA") && Sql.startsWith(t, from + 1, "IDENTITY")
                && (Sql.startsWith(t, from + 2, "FULL") || Sql.startsWith(t, from + 2, "NOTHING") || Sql.startsWith(t, from + 2, "DEFAULT"))) {
            return true;
        }
        if ((a.is("SET") || a.is("RESET")) && from + 1 < to && t.get(from + 1).isPunct('(')) {
            return true;
        }
        if (a.is("ATTACH") && Sql.startsWith(t, from + 1, "PARTITION")) {
            Sql.Name child = Sql.name(t, from + 2);
            QName mapped = child == null ? null : rename.get(QName.of(child));
            if (mapped == null) {
                return false;
            }
            spans.add(new int[] {child.start(), child.end()});
            texts.add(mapped.qualified());
            return true;
        }
        return false;
    }

    /** End (exclusive token index) of a column default's expression inside CREATE TABLE. */
    private static int defaultEnd(List<Sql.Token> t, int k) {
        int depth = t.get(k - 1).depth();
        Set<String> stops = Set.of("NOT", "NULL", "CONSTRAINT", "CHECK", "UNIQUE", "PRIMARY", "REFERENCES", "GENERATED", "COLLATE");
        int i = k;
        while (i < t.size()) {
            Sql.Token x = t.get(i);
            if (x.depth() < depth || x.depth() == depth && (x.isPunct(',') || x.isPunct(')')
                    || x.kind() == Sql.Kind.WORD && stops.contains(x.text().toUpperCase(Locale.ROOT)))) {
                break;
            }
            i++;
        }
        return i;
    }

    private static String replace(String sql, List<int[]> spans, List<String> texts) {
        Integer[] order = new Integer[spans.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Integer.compare(spans.get(b)[0], spans.get(a)[0]));
        StringBuilder sb = new StringBuilder(sql);
        for (int i : order) {
            sb.replace(spans.get(i)[0], spans.get(i)[1], texts.get(i));
        }
        return sb.toString();
    }
}
