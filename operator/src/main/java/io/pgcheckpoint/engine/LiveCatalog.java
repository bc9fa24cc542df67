package io.pgcheckpoint.engine;

import io.pgcheckpoint.engine.ArchiveSchema.QName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** What the live database looks like, read from its catalog on the restore's own connection. */
final class LiveCatalog {
    private LiveCatalog() {
    }

    record Live(QName name, long oid, char kind, boolean partition, List<QName> parents) {
    }

    record Trigger(QName table, String name, char state) {
        String stateName() {
            return switch (state) {
                case 'O' -> "enabled";
                case 'R' -> "enabled replica";
                case 'A' -> "enabled always";
                default -> "disabled";
            };
        }
    }

    record Fk(long oid, String name, long conrelid, QName table, long confrelid, long parent) {
    }

    static Live live(Connection c, QName q) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT c.oid, c.relkind, c.relispartition FROM pg_catalog.pg_class c "
                + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ?")) {
            st.setString(1, q.schema());
            st.setString(2, q.name());
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                long oid = rs.getLong(1);
                char kind = rs.getString(2).charAt(0);
                boolean partition = rs.getBoolean(3);
                return new Live(q, oid, kind, partition, parents(c, oid));
            }
        }
    }

    static List<QName> parents(Connection c, long oid) throws SQLException {
        List<QName> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("SELECT n.nspname, p.relname FROM pg_catalog.pg_inherits i "
                + "JOIN pg_catalog.pg_class p ON p.oid = i.inhparent JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace "
                + "WHERE i.inhrelid = ? ORDER BY i.inhseqno")) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new QName(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return out;
    }

    static List<QName> children(Connection c, long oid) throws SQLException {
        List<QName> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("SELECT n.nspname, k.relname FROM pg_catalog.pg_inherits i "
                + "JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace "
                + "WHERE i.inhparent = ? ORDER BY 1, 2")) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new QName(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return out;
    }

    /**
     * User triggers, including those a partition has from its parent (PostgreSQL 13 and 14 mark those
     * internal), never the internal triggers that enforce foreign keys.
     */
    static List<Trigger> userTriggers(Connection c, Live l) throws SQLException {
        List<Trigger> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("SELECT tgname, tgenabled FROM pg_catalog.pg_trigger "
                + "WHERE tgrelid = ? AND (NOT tgisinternal OR (tgparentid <> 0 AND tgconstraint = 0)) ORDER BY tgname")) {
            st.setLong(1, l.oid());
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new Trigger(l.name(), rs.getString(1), rs.getString(2).charAt(0)));
                }
            }
        }
        return out;
    }

    static final String FKS = "SELECT con.oid, con.conname, con.conrelid, n.nspname, r.relname, con.confrelid, con.conparentid "
            + "FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class r ON r.oid = con.conrelid "
            + "JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace WHERE con.contype = 'f' AND ";

    static List<Fk> foreignKeys(Connection c, String where, long oid) throws SQLException {
        List<Fk> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(FKS + where + " ORDER BY 4, 5, 2")) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new Fk(rs.getLong(1), rs.getString(2), rs.getLong(3), new QName(rs.getString(4), rs.getString(5)),
                            rs.getLong(6), rs.getLong(7)));
                }
            }
        }
        return out;
    }

    static boolean constraintExists(Connection c, QName table, String name) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT 1 FROM pg_catalog.pg_constraint con "
                + "JOIN pg_catalog.pg_class r ON r.oid = con.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
                + "WHERE n.nspname = ? AND r.relname = ? AND con.conname = ?")) {
            st.setString(1, table.schema());
            st.setString(2, table.name());
            st.setString(3, name);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }

    static List<Long> ancestors(Connection c, long oid) throws SQLException {
        List<Long> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("SELECT relid::pg_catalog.oid FROM pg_catalog.pg_partition_ancestors(?)")) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
        }
        if (out.isEmpty()) {
            out.add(oid);
        }
        return out;
    }

    static List<QName> leafPartitions(Connection c, long oid) throws SQLException {
        List<QName> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("SELECT n.nspname, k.relname FROM pg_catalog.pg_partition_tree(?) t "
                + "JOIN pg_catalog.pg_class k ON k.oid = t.relid JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace "
                + "WHERE t.isleaf")) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new QName(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return out;
    }

    /** Views and materialized views that read the given relation. */
    static List<QName> viewsOn(Connection c, long oid) throws SQLException {
        List<QName> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("SELECT DISTINCT n.nspname, v.relname FROM pg_catalog.pg_depend d "
                + "JOIN pg_catalog.pg_rewrite w ON w.oid = d.objid AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
                + "JOIN pg_catalog.pg_class v ON v.oid = w.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace "
                + "WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = ? AND v.oid <> ? ORDER BY 1, 2")) {
            st.setLong(1, oid);
            st.setLong(2, oid);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new QName(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return out;
    }

    /** The restoring role: superuser or not, the roles that exist, and which it may act as. */
    static final class Roles {
        final String user;
        final boolean superuser;
        final Set<String> existing = new HashSet<>();
        private final Map<String, Boolean> usage = new HashMap<>();
        private final Connection c;

        Roles(Connection c) throws SQLException {
            this.c = c;
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT current_user, (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)")) {
                rs.next();
                user = rs.getString(1);
                superuser = rs.getBoolean(2);
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT rolname FROM pg_catalog.pg_roles")) {
                while (rs.next()) {
                    existing.add(rs.getString(1));
                }
            }
        }

        /** Why the restoring role cannot make {@code role} an object's owner, or null when it can. */
        String cannotOwnAs(String role) throws SQLException {
            if (!existing.contains(role)) {
                return "role " + role + " does not exist here";
            }
            if (superuser) {
                return null;
            }
            Boolean ok = usage.get(role);
            if (ok == null) {
                try (PreparedStatement st = c.prepareStatement("SELECT pg_catalog.pg_has_role(current_user, ?, 'USAGE')")) {
                    st.setString(1, role);
                    try (ResultSet rs = st.executeQuery()) {
                        rs.next();
                        ok = rs.getBoolean(1);
                    }
                }
                usage.put(role, ok);
            }
            return ok ? null : user + " is neither a superuser nor a member of " + role;
        }
    }

    static QName defaultPartition(Connection c, long parent) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT n.nspname, k.relname FROM pg_catalog.pg_partitioned_table t "
                + "JOIN pg_catalog.pg_class k ON k.oid = t.partdefid JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace "
                + "WHERE t.partrelid = ?")) {
            st.setLong(1, parent);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? new QName(rs.getString(1), rs.getString(2)) : null;
            }
        }
    }

    /** " of public.x" for an index or an owned sequence, else "". */
    static String ownerTableOf(Connection c, Live l) throws SQLException {
        String sql = l.kind() == 'i' || l.kind() == 'I'
                ? "SELECT pg_catalog.format('%I.%I', n.nspname, t.relname) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class t ON t.oid = i.indrelid "
                        + "JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE i.indexrelid = ?"
                : "SELECT pg_catalog.format('%I.%I', n.nspname, t.relname) FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class t ON t.oid = d.refobjid "
                        + "JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
                        + "AND d.objid = ? AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')";
        try (PreparedStatement st = c.prepareStatement(sql)) {
            st.setLong(1, l.oid());
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? " of " + rs.getString(1) : "";
            }
        }
    }

    static boolean privileged(Connection c, String check, long oid) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT " + check)) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    static boolean found(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                st.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }

    static String relkindName(char kind) {
        return switch (kind) {
            case 'r' -> "a table";
            case 'p' -> "a partitioned table";
            case 'v' -> "a view";
            case 'm' -> "a materialized view";
            case 'f' -> "a foreign table";
            case 'S' -> "a sequence";
            case 'i', 'I' -> "an index";
            default -> "a relation of kind " + kind;
        };
    }

    /** A live column: name, and whether a row without it would be refused (NOT NULL, no default, not generated). */
    record Column(String name, boolean required) {
    }

    static List<Column> columns(Connection c, long oid) throws SQLException {
        List<Column> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("SELECT attname, attnotnull AND NOT atthasdef AND attidentity = '' AND attgenerated = '' "
                + "FROM pg_catalog.pg_attribute WHERE attrelid = ? AND attnum > 0 AND NOT attisdropped ORDER BY attnum")) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new Column(rs.getString(1), rs.getBoolean(2)));
                }
            }
        }
        return out;
    }
}
