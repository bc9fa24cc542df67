package io.pgcheckpoint.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * Schemas and tables left out of a checkpoint, by exact name. pg_dump gets them as quoted
 * (literal) patterns and the ledger skips the same relations, so the drill still compares like
 * with like.
 */
public record Exclusions(List<String> schemas, List<String> tables) {
    public static final Exclusions NONE = new Exclusions(List.of(), List.of());

    public Exclusions {
        schemas = schemas == null ? List.of() : List.copyOf(schemas);
        tables = tables == null ? List.of() : List.copyOf(tables);
        for (String t : tables) {
            TableNames.split(t);
        }
    }

    public boolean excludes(String schema, String name) {
        if (schemas.contains(schema)) {
            return true;
        }
        for (String t : tables) {
            String[] parts = TableNames.split(t);
            if (parts[0].equals(schema) && parts[1].equals(name)) {
                return true;
            }
        }
        return false;
    }

    public List<String> pgDumpArguments() {
        List<String> args = new ArrayList<>();
        for (String s : schemas) {
            args.add("--exclude-schema=" + literal(s));
        }
        for (String t : tables) {
            String[] parts = TableNames.split(t);
            args.add("--exclude-table=" + literal(parts[0]) + "." + literal(parts[1]));
        }
        return args;
    }

    /** In pg_dump's patterns a double-quoted name matches itself only: no wildcards, no case folding. */
    private static String literal(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
