package io.pgcheckpoint.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How the archive's tables hang together, read from the SQL pg_restore renders for each entry
 * (names parsed exactly, quote-aware) and from the entries' dependency lists: which entries
 * belong to a table, its partitions and parents, its sequences, the foreign keys into it.
 */
final class ArchiveSchema {
    /** A schema-qualified name, unquoted. */
    record QName(String schema, String name) {
        String qualified() {
            return Db.qualified(schema, name);
        }

        String display() {
            return schema + "." + name;
        }

        static QName of(Sql.Name n) {
            return n == null || n.parts().size() < 2 ? null
                    : new QName(n.parts().get(n.parts().size() - 2), n.parts().get(n.parts().size() - 1));
        }

        @Override
        public String toString() {
            return display();
        }
    }

    /** What one entry's SQL says. */
    static final class Facts {
        final Toc.Entry entry;
        final List<Integer> dependencies;
        final String sql;
        final List<String> statements = new ArrayList<>();
        /** The relation the entry creates (TABLE, VIEW, ...) or is attached to (INDEX, TRIGGER, ...). */
        QName target;
        /** Its own name: index, sequence, constraint, trigger, policy, rule. */
        String object;
        /** FOREIGN KEY: the referenced table; TABLE ATTACH: the parent; INDEX ATTACH: the parent index. */
        QName other;
        /** INDEX / SEQUENCE / INDEX ATTACH child: the object's qualified name. */
        QName objectName;
        boolean partitioned;
        List<QName> inherits = List.of();
        /** TABLE: the columns its CREATE TABLE lists (an inheritance child's inherited ones are its parents'). */
        List<String> columns = List.of();
        /** SEQUENCE SET */
        Long value;
        Boolean called;
        /** CONSTRAINT: a primary key, unique or exclusion constraint, which creates an index of its name. */
        boolean indexBacked;
        /** SEQUENCE in its ALTER TABLE ... ADD GENERATED form (an identity column's). */
        boolean identity;
        /** DEFAULT: sequences named by nextval('...'). */
        List<QName> sequences = List.of();

        Facts(Toc.Described d) {
            this.entry = d.entry();
            this.dependencies = d.dependencies();
            this.sql = d.sql();
        }

        String kind() {
            return entry.kind();
        }
    }

    /** A relation of the archive: a table, partitioned table, materialized view, view or foreign table. */
    static final class Relation {
        final QName name;
        final Facts facts;
        final String kind;
        Toc.Entry data;
        QName parent;
        Toc.Entry attach;
        final List<QName> partitions = new ArrayList<>();

        Relation(QName name, Facts facts, String kind) {
            this.name = name;
            this.facts = facts;
            this.kind = kind;
        }

        boolean partitioned() {
            return facts.partitioned;
        }

        boolean isMatview() {
            return kind.equals("materialized view");
        }
    }

    final Map<Integer, Facts> facts = new LinkedHashMap<>();
    final Map<QName, Relation> relations = new LinkedHashMap<>();
    final Map<QName, Facts> sequenceSets = new HashMap<>();
    /** Sequence -> the table that owns it (SEQUENCE OWNED BY). */
    final Map<QName, QName> sequenceOwners = new HashMap<>();
    final Map<QName, Facts> sequenceOwnedBy = new HashMap<>();
    /** Sequence -> its SEQUENCE entry. */
    final Map<QName, Facts> sequences = new HashMap<>();
    final Map<QName, Facts> indexes = new HashMap<>();
    private final Map<Integer, List<Facts>> dependents = new HashMap<>();

    ArchiveSchema(Toc toc, Map<Integer, Toc.Described> described) {
        for (Toc.Described d : described.values()) {
            Facts f = new Facts(d);
            read(f);
            facts.put(d.entry().id(), f);
            for (int dep : d.dependencies()) {
                dependents.computeIfAbsent(dep, k -> new ArrayList<>()).add(f);
            }
        }
        Map<Long, Toc.Entry> dataByOid = new HashMap<>();
        for (Toc.Entry e : toc.entries()) {
            if (e.kind().equals("TABLE DATA") || e.kind().equals("MATERIALIZED VIEW DATA")) {
                dataByOid.put(e.objOid(), e);
            }
        }
        for (Facts f : facts.values()) {
            String kind = switch (f.kind()) {
                case "TABLE" -> f.partitioned ? "partitioned table" : "table";
                case "MATERIALIZED VIEW" -> "materialized view";
                case "VIEW" -> "view";
                case "FOREIGN TABLE" -> "foreign table";
                default -> null;
            };
            if (kind != null && f.target != null) {
                Relation r = new Relation(f.target, f, kind);
                r.data = dataByOid.get(f.entry.objOid());
                relations.put(f.target, r);
            }
        }
        for (Facts f : facts.values()) {
            switch (f.kind()) {
                case "TABLE ATTACH" -> {
                    Relation child = relations.get(f.target);
                    Relation parent = relations.get(f.other);
                    if (child != null && parent != null) {
                        child.parent = parent.name;
                        child.attach = f.entry;
                        parent.partitions.add(child.name);
                    }
                }
                case "SEQUENCE SET" -> sequenceSets.put(f.objectName, f);
                case "SEQUENCE OWNED BY" -> {
                    sequenceOwners.put(f.objectName, f.target);
                    sequenceOwnedBy.put(f.objectName, f);
                }
                case "SEQUENCE" -> sequences.put(f.objectName, f);
                case "INDEX" -> indexes.put(f.objectName, f);
                default -> { }
            }
        }
    }

    Relation relation(QName name) {
        return relations.get(name);
    }

    /** The relation and, for a partitioned table, all its partitions, depth first. */
    List<Relation> withPartitions(Relation r) {
        List<Relation> out = new ArrayList<>();
        out.add(r);
        for (QName p : r.partitions) {
            Relation child = relations.get(p);
            if (child != null) {
                out.addAll(withPartitions(child));
            }
        }
        return out;
    }

    /** Entries that depend directly on the given one. */
    List<Facts> dependentsOf(int id) {
        return dependents.getOrDefault(id, List.of());
    }

    /**
     * Everything a relation needs to be recreated besides its TABLE entry, data and attachment:
     * defaults, constraints, its own foreign keys, indexes (and their attachment to the parent's),
     * triggers, rules, policies, row security, extended statistics, identity and owned sequences,
     * publication membership; then the comments, grants and security labels on all of those.
     */
    List<Facts> belongings(Relation r) {
        Set<Facts> own = new LinkedHashSet<>();
        Set<String> kinds = Set.of("DEFAULT", "CONSTRAINT", "CHECK CONSTRAINT", "FK CONSTRAINT", "INDEX", "TRIGGER",
                "POLICY", "ROW SECURITY", "RULE", "STATISTICS", "PUBLICATION TABLE");
        Set<QName> ownIndexes = new HashSet<>();
        for (Facts f : facts.values()) {
            if (r.name.equals(f.target) && kinds.contains(f.kind())) {
                own.add(f);
                if (f.kind().equals("INDEX")) {
                    ownIndexes.add(f.objectName);
                } else if (f.kind().equals("CONSTRAINT") && f.object != null) {
                    ownIndexes.add(new QName(r.name.schema(), f.object)); // primary key, unique, exclusion: their index
                }
            }
            if (f.kind().equals("SEQUENCE") && f.identity && r.name.equals(f.target)) {
                own.add(f);
            }
        }
        for (Map.Entry<QName, QName> owned : sequenceOwners.entrySet()) {
            if (r.name.equals(owned.getValue()) && sequences.containsKey(owned.getKey())) {
                own.add(sequences.get(owned.getKey()));
                own.add(sequenceOwnedBy.get(owned.getKey()));
            }
        }
        for (Facts f : facts.values()) {
            if (f.kind().equals("INDEX ATTACH") && ownIndexes.contains(f.objectName)) {
                own.add(f);
            }
        }
        Set<Integer> ids = new HashSet<>();
        ids.add(r.facts.entry.id());
        own.forEach(f -> ids.add(f.entry.id()));
        own.addAll(decorations(ids));
        return List.copyOf(own);
    }

    /** COMMENT, ACL and SECURITY LABEL entries on any of the given entries' objects. */
    List<Facts> decorations(Set<Integer> ids) {
        List<Facts> out = new ArrayList<>();
        for (Facts f : facts.values()) {
            if ((f.kind().equals("COMMENT") || f.kind().equals("ACL") || f.kind().equals("SECURITY LABEL"))
                    && f.dependencies.stream().anyMatch(ids::contains)) {
                out.add(f);
            }
        }
        return out;
    }

    /** FOREIGN KEY entries of other tables that reference the given relation. */
    List<Facts> foreignKeysInto(QName table) {
        return facts.values().stream()
                .filter(f -> f.kind().equals("FK CONSTRAINT") && table.equals(f.other) && !table.equals(f.target)).toList();
    }

    // --- reading one entry's SQL -------------------------------------------------------------

    private static void read(Facts f) {
        List<String> statements = new ArrayList<>();
        Sql.Splitter splitter = new Sql.Splitter(new Sql.Splitter.Sink() {
            @Override
            public void statement(String sql) {
                statements.add(sql);
            }

            @Override
            public void between(String line) {
            }

            @Override
            public void meta(String line) {
            }
        });
        for (String line : f.sql.split("\n", -1)) {
            splitter.line(line);
        }
        f.statements.addAll(statements);
        for (String s : statements) {
            List<Sql.Token> t = Sql.tokens(s);
            if (t.isEmpty() || t.get(0).is("SET") || t.get(0).is("SELECT") && !f.kind().equals("SEQUENCE SET")) {
                continue;
            }
            if (readStatement(f, t)) {
                return;
            }
        }
    }

    /** Reads the facts from the entry's defining statement; true when this statement was it. */
    private static boolean readStatement(Facts f, List<Sql.Token> t) {
        switch (f.kind()) {
            case "TABLE", "FOREIGN TABLE", "MATERIALIZED VIEW", "VIEW" -> {
                if (!t.get(0).is("CREATE")) {
                    return false;
                }
                int i = 1;
                while (i < t.size() && !(t.get(i).is("TABLE") || t.get(i).is("VIEW"))) {
                    i++;
                }
                i++;
                if (Sql.startsWith(t, i, "IF", "NOT", "EXISTS")) {
                    i += 3;
                }
                Sql.Name n = Sql.name(t, i);
                f.target = QName.of(n);
                if (n == null) {
                    return true;
                }
                if (f.kind().equals("TABLE") && n.nextToken() < t.size() && t.get(n.nextToken()).isPunct('(')) {
                    f.columns = columns(t, n.nextToken() + 1);
                }
                for (int k = n.nextToken(); k + 1 < t.size(); k++) {
                    Sql.Token a = t.get(k);
                    if (a.depth() != 0) {
                        continue;
                    }
                    if (a.is("PARTITION") && t.get(k + 1).is("BY")) {
                        f.partitioned = true;
                    } else if (a.is("INHERITS") && t.get(k + 1).isPunct('(')) {
                        f.inherits = names(t, k + 2);
                    } else if (a.is("PARTITION") && t.get(k + 1).is("OF")) {
                        f.other = QName.of(Sql.name(t, k + 2));
                    } else if (a.is("AS") && !f.kind().endsWith("TABLE")) {
                        break;
                    }
                }
                return true;
            }
            case "TABLE ATTACH" -> {
                int i = alterTarget(t, "TABLE");
                if (i < 0) {
                    return false;
                }
                Sql.Name parent = Sql.name(t, i);
                int k = parent == null ? -1 : parent.nextToken();
                if (k < 0 || !Sql.startsWith(t, k, "ATTACH", "PARTITION")) {
                    return false;
                }
                f.other = QName.of(parent);
                f.target = QName.of(Sql.name(t, k + 2));
                return true;
            }
            case "INDEX" -> {
                if (!t.get(0).is("CREATE")) {
                    return false;
                }
                int i = Sql.find(t, 0, "INDEX") + 1;
                if (Sql.startsWith(t, i, "CONCURRENTLY")) {
                    i++;
                }
                if (Sql.startsWith(t, i, "IF", "NOT", "EXISTS")) {
                    i += 3;
                }
                Sql.Name index = Sql.name(t, i);
                int on = Sql.find(t, i, "ON");
                if (index == null || on < 0) {
                    return false;
                }
                int k = on + 1;
                if (Sql.startsWith(t, k, "ONLY")) {
                    k++;
                }
                f.target = QName.of(Sql.name(t, k));
                f.object = index.last();
                f.objectName = f.target == null ? null : new QName(f.target.schema(), index.last());
                return true;
            }
            case "INDEX ATTACH" -> {
                int i = alterTarget(t, "INDEX");
                Sql.Name parent = i < 0 ? null : Sql.name(t, i);
                if (parent == null || !Sql.startsWith(t, parent.nextToken(), "ATTACH", "PARTITION")) {
                    return false;
                }
                f.other = QName.of(parent);
                f.objectName = QName.of(Sql.name(t, parent.nextToken() + 2));
                return true;
            }
            case "CONSTRAINT", "CHECK CONSTRAINT", "FK CONSTRAINT", "DEFAULT", "ROW SECURITY" -> {
                int i = alterTarget(t, "TABLE");
                if (i < 0) {
                    return false;
                }
                Sql.Name table = Sql.name(t, i);
                f.target = QName.of(table);
                int add = Sql.find(t, i, "CONSTRAINT");
                if (add >= 0 && add + 1 < t.size()) {
                    f.object = t.get(add + 1).ident();
                    f.indexBacked = Sql.startsWith(t, add + 2, "PRIMARY") || Sql.startsWith(t, add + 2, "UNIQUE")
                            || Sql.startsWith(t, add + 2, "EXCLUDE");
                }
                int ref = Sql.find(t, i, "REFERENCES");
                if (ref >= 0) {
                    f.other = QName.of(Sql.name(t, ref + 1));
                }
                if (f.kind().equals("DEFAULT")) {
                    f.sequences = nextvals(t);
                }
                return true;
            }
            case "TRIGGER", "POLICY", "RULE" -> {
                if (!t.get(0).is("CREATE")) {
                    return false;
                }
                int i = Sql.find(t, 0, f.kind());
                Sql.Name name = i < 0 ? null : Sql.name(t, i + 1);
                if (name == null) {
                    return false;
                }
                f.object = name.last();
                int on = f.kind().equals("RULE") ? Sql.find(t, name.nextToken(), "TO") : Sql.find(t, name.nextToken(), "ON");
                if (on >= 0) {
                    f.target = QName.of(Sql.name(t, on + 1));
                }
                return true;
            }
            case "STATISTICS" -> {
                if (!t.get(0).is("CREATE")) {
                    return false;
                }
                int i = Sql.find(t, 0, "STATISTICS") + 1;
                if (Sql.startsWith(t, i, "IF", "NOT", "EXISTS")) {
                    i += 3;
                }
                f.objectName = QName.of(Sql.name(t, i));
                int from = Sql.find(t, 0, "FROM");
                if (from >= 0) {
                    f.target = QName.of(Sql.name(t, from + 1));
                }
                return true;
            }
            case "PUBLICATION TABLE" -> {
                int table = Sql.find(t, 0, "TABLE");
                if (table < 0) {
                    return false;
                }
                int k = table + 1;
                if (Sql.startsWith(t, k, "ONLY")) {
                    k++;
                }
                f.target = QName.of(Sql.name(t, k));
                return true;
            }
            case "SEQUENCE" -> {
                if (t.get(0).is("CREATE")) {
                    int i = Sql.find(t, 0, "SEQUENCE") + 1;
                    if (Sql.startsWith(t, i, "IF", "NOT", "EXISTS")) {
                        i += 3;
                    }
                    f.objectName = QName.of(Sql.name(t, i));
                    return true;
                }
                int i = alterTarget(t, "TABLE");
                if (i < 0) {
                    return false;
                }
                f.target = QName.of(Sql.name(t, i));
                for (int k = 0; k + 2 < t.size(); k++) {
                    if (t.get(k).is("SEQUENCE") && t.get(k + 1).is("NAME")) {
                        f.objectName = QName.of(Sql.name(t, k + 2));
                        f.identity = true;
                        return true;
                    }
                }
                return false;
            }
            case "SEQUENCE OWNED BY" -> {
                int i = alterTarget(t, "SEQUENCE");
                Sql.Name seq = i < 0 ? null : Sql.name(t, i);
                if (seq == null || !Sql.startsWith(t, seq.nextToken(), "OWNED", "BY")) {
                    return false;
                }
                f.objectName = QName.of(seq);
                Sql.Name column = Sql.name(t, seq.nextToken() + 2);
                if (column != null && column.parts().size() == 3) {
                    f.target = new QName(column.parts().get(0), column.parts().get(1));
                    f.object = column.parts().get(2);
                }
                return true;
            }
            case "SEQUENCE SET" -> {
                // SELECT pg_catalog.setval('public.orders_id_seq', 1000, true);
                for (int k = 0; k < t.size(); k++) {
                    if (t.get(k).kind() == Sql.Kind.STRING) {
                        f.objectName = QName.of(Sql.name(Sql.tokens(t.get(k).stringValue()), 0));
                        if (k + 4 < t.size() && t.get(k + 2).kind() == Sql.Kind.NUMBER) {
                            f.value = Long.parseLong(t.get(k + 2).text());
                            f.called = t.get(k + 4).is("true");
                        } else if (k + 5 < t.size() && t.get(k + 2).isPunct('-') && t.get(k + 3).kind() == Sql.Kind.NUMBER) {
                            f.value = -Long.parseLong(t.get(k + 3).text());
                            f.called = t.get(k + 5).is("true");
                        }
                        return true;
                    }
                }
                return false;
            }
            default -> {
                return true;
            }
        }
    }

    /** For "ALTER &lt;kind&gt; [IF EXISTS] [ONLY] name": the index of name, or -1. */
    private static int alterTarget(List<Sql.Token> t, String kind) {
        if (t.size() < 3 || !t.get(0).is("ALTER") || !t.get(1).is(kind)) {
            return -1;
        }
        int i = 2;
        if (Sql.startsWith(t, i, "IF", "EXISTS")) {
            i += 2;
        }
        if (Sql.startsWith(t, i, "ONLY")) {
            i++;
        }
        return i;
    }

    /** Column names of a CREATE TABLE's element list starting at token i (table constraints skipped). */
    private static List<String> columns(List<Sql.Token> t, int i) {
        List<String> out = new ArrayList<>();
        boolean atElement = true;
        Set<String> notColumns = Set.of("constraint", "check", "unique", "primary", "exclude", "foreign", "like");
        for (int k = i; k < t.size(); k++) {
            Sql.Token x = t.get(k);
            if (x.depth() == 0) {
                break; // the closing parenthesis
            }
            if (x.depth() == 1 && x.isPunct(',')) {
                atElement = true;
                continue;
            }
            if (atElement && x.depth() == 1) {
                atElement = false;
                if (x.ident() != null && !(x.kind() == Sql.Kind.WORD && notColumns.contains(x.ident()))) {
                    out.add(x.ident());
                }
            }
        }
        return out;
    }

    /** Every column a table has in the archive, its parents' first, as PostgreSQL orders them. */
    List<String> allColumns(Relation r) {
        Set<String> out = new LinkedHashSet<>();
        for (QName parent : r.facts.inherits) {
            Relation pr = relations.get(parent);
            if (pr != null) {
                out.addAll(allColumns(pr));
            }
        }
        out.addAll(r.facts.columns);
        return List.copyOf(out);
    }

    /** Names separated by commas from token i up to the closing parenthesis. */
    private static List<QName> names(List<Sql.Token> t, int i) {
        List<QName> out = new ArrayList<>();
        while (i < t.size()) {
            Sql.Name n = Sql.name(t, i);
            if (n == null) {
                break;
            }
            QName q = QName.of(n);
            if (q != null) {
                out.add(q);
            }
            i = n.nextToken();
            if (i < t.size() && t.get(i).isPunct(',')) {
                i++;
            } else {
                break;
            }
        }
        return out;
    }

    /** Sequences named in nextval('...'::regclass) calls. */
    static List<QName> nextvals(List<Sql.Token> t) {
        List<QName> out = new ArrayList<>();
        for (int k = 0; k + 2 < t.size(); k++) {
            if (t.get(k).ident() != null && t.get(k).ident().equals("nextval") && t.get(k + 1).isPunct('(')
                    && t.get(k + 2).kind() == Sql.Kind.STRING) {
                QName q = QName.of(Sql.name(Sql.tokens(t.get(k + 2).stringValue()), 0));
                if (q != null) {
                    out.add(q);
                }
            }
        }
        return out;
    }
}
