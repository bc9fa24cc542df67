package io.pgcheckpoint.engine;

import java.util.ArrayList;
import java.util.List;

/** "schema.table", "table" (public) or quoted names such as "My Schema"."Odd ""x""" into their two parts. */
public final class TableNames {
    private TableNames() {
    }

    public static String[] split(String name) {
        List<String> parts = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < name.length(); i++) {
            char ch = name.charAt(i);
            if (ch == '"') {
                if (quoted && i + 1 < name.length() && name.charAt(i + 1) == '"') {
                    current.append('"');
                    i++;
                } else {
                    quoted = !quoted;
                }
            } else if (ch == '.' && !quoted) {
                parts.add(current.toString());
                current.setLength(0);
            } else {
                current.append(ch);
            }
        }
        parts.add(current.toString());
        if (parts.size() == 1 && !quoted && !parts.get(0).isEmpty()) {
            return new String[] {"public", parts.get(0)};
        }
        if (parts.size() != 2 || quoted || parts.get(0).isEmpty() || parts.get(1).isEmpty()) {
            throw new CheckpointException("usage.tables", "cannot read table name '" + name
                    + "': use schema.table, quoting odd names like \"My Schema\".\"Odd table\"");
        }
        return new String[] {parts.get(0), parts.get(1)};
    }

    /** The inverse of {@link #split}: schema.table, quoting a part only where it must be. */
    public static String join(String schema, String name) {
        return part(schema) + "." + part(name);
    }

    private static String part(String s) {
        return s.contains(".") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    /** A word to paste into a shell command line. */
    public static String shellWord(String s) {
        return s.matches("[A-Za-z0-9_.,:/=@%+-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
    }
}
