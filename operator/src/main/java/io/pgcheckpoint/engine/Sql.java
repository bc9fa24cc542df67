package io.pgcheckpoint.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Just enough of PostgreSQL's lexical rules to read what pg_dump and pg_restore write, exactly:
 * identifiers (quoted or not), string constants (standard, E'', dollar-quoted), comments and
 * parentheses. Used to split a script into statements, to find the objects a statement names and
 * to rewrite those names; never to understand SQL beyond that.
 */
public final class Sql {
    private Sql() {
    }

    public enum Kind { WORD, QUOTED, STRING, NUMBER, PARAM, PUNCT }

    public record Token(Kind kind, String text, int start, int end, int depth) {
        /** The identifier this token denotes (unquoted words fold to lower case), or null. */
        public String ident() {
            return switch (kind) {
                case WORD -> text.toLowerCase(Locale.ROOT);
                case QUOTED -> text.substring(1, text.length() - 1).replace("\"\"", "\"");
                default -> null;
            };
        }

        public boolean is(String keyword) {
            return kind == Kind.WORD && text.equalsIgnoreCase(keyword);
        }

        public boolean isPunct(char c) {
            return kind == Kind.PUNCT && text.length() == 1 && text.charAt(0) == c;
        }

        /** The value of a string constant (standard or E'' escapes resolved only for quotes). */
        public String stringValue() {
            if (kind != Kind.STRING) {
                return null;
            }
            if (text.startsWith("$")) {
                int tagEnd = text.indexOf('$', 1);
                return text.substring(tagEnd + 1, text.length() - tagEnd - 1);
            }
            int open = text.indexOf('\'');
            String body = text.substring(open + 1, text.length() - 1);
            boolean escapes = open > 0 && Character.toLowerCase(text.charAt(0)) == 'e';
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < body.length(); i++) {
                char ch = body.charAt(i);
                if (ch == '\'' && i + 1 < body.length() && body.charAt(i + 1) == '\'') {
                    out.append('\'');
                    i++;
                } else if (escapes && ch == '\\' && i + 1 < body.length()) {
                    out.append(body.charAt(++i));
                } else {
                    out.append(ch);
                }
            }
            return out.toString();
        }
    }

    /** A name as written: its parts (one to three), and where it stands in the statement text. */
    public record Name(List<String> parts, int start, int end, int nextToken) {
        public String schema() {
            return parts.size() >= 2 ? parts.get(parts.size() - 2) : null;
        }

        public String last() {
            return parts.get(parts.size() - 1);
        }
    }

    /** Tokens of one statement (or a fragment); comments and white space are dropped. */
    public static List<Token> tokens(String sql) {
        List<Token> out = new ArrayList<>();
        int depth = 0;
        int i = 0;
        int n = sql.length();
        while (i < n) {
            char c = sql.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
                while (i < n && sql.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
                i = skipBlockComment(sql, i);
            } else if (c == '\'') {
                int end = skipString(sql, i, false);
                out.add(new Token(Kind.STRING, sql.substring(i, end), i, end, depth));
                i = end;
            } else if (c == '"') {
                int end = skipQuoted(sql, i);
                out.add(new Token(Kind.QUOTED, sql.substring(i, end), i, end, depth));
                i = end;
            } else if (c == '$' && i + 1 < n && Character.isDigit(sql.charAt(i + 1))) {
                int end = i + 1;
                while (end < n && Character.isDigit(sql.charAt(end))) {
                    end++;
                }
                out.add(new Token(Kind.PARAM, sql.substring(i, end), i, end, depth));
                i = end;
            } else if (c == '$' && dollarTagEnd(sql, i) > 0) {
                int end = skipDollar(sql, i);
                out.add(new Token(Kind.STRING, sql.substring(i, end), i, end, depth));
                i = end;
            } else if (isIdentStart(c)) {
                int end = i + 1;
                while (end < n && isIdentPart(sql.charAt(end))) {
                    end++;
                }
                if (end < n && sql.charAt(end) == '\'' && end - i == 1 && "eEbBxXnN".indexOf(c) >= 0) {
                    int stringEnd = skipString(sql, end, c == 'e' || c == 'E');
                    out.add(new Token(Kind.STRING, sql.substring(i, stringEnd), i, stringEnd, depth));
                    i = stringEnd;
                } else {
                    out.add(new Token(Kind.WORD, sql.substring(i, end), i, end, depth));
                    i = end;
                }
            } else if (Character.isDigit(c) || (c == '.' && i + 1 < n && Character.isDigit(sql.charAt(i + 1)))) {
                int end = i + 1;
                while (end < n && (Character.isLetterOrDigit(sql.charAt(end)) || sql.charAt(end) == '.'
                        || ((sql.charAt(end) == '+' || sql.charAt(end) == '-') && (sql.charAt(end - 1) == 'e' || sql.charAt(end - 1) == 'E')))) {
                    end++;
                }
                out.add(new Token(Kind.NUMBER, sql.substring(i, end), i, end, depth));
                i = end;
            } else {
                if (c == ')') {
                    depth--;
                }
                out.add(new Token(Kind.PUNCT, String.valueOf(c), i, i + 1, depth));
                if (c == '(') {
                    depth++;
                }
                i++;
            }
        }
        return out;
    }

    /** Reads a possibly qualified name (a.b.c) at token index i, or null when none stands there. */
    public static Name name(List<Token> tokens, int i) {
        if (i >= tokens.size() || tokens.get(i).ident() == null) {
            return null;
        }
        List<String> parts = new ArrayList<>();
        parts.add(tokens.get(i).ident());
        int start = tokens.get(i).start();
        int end = tokens.get(i).end();
        int j = i + 1;
        while (j + 1 < tokens.size() && tokens.get(j).isPunct('.') && tokens.get(j + 1).ident() != null
                && tokens.get(j).start() == end && tokens.get(j + 1).start() == end + 1) {
            parts.add(tokens.get(j + 1).ident());
            end = tokens.get(j + 1).end();
            j += 2;
        }
        return new Name(List.copyOf(parts), start, end, j);
    }

    /** Index of the first token at paren depth 0 from {@code from} that is the given keyword, or -1. */
    public static int find(List<Token> tokens, int from, String keyword) {
        for (int i = from; i < tokens.size(); i++) {
            if (tokens.get(i).depth() == 0 && tokens.get(i).is(keyword)) {
                return i;
            }
        }
        return -1;
    }

    /** True when the tokens from i on start with the given keywords. */
    public static boolean startsWith(List<Token> tokens, int i, String... keywords) {
        for (int k = 0; k < keywords.length; k++) {
            if (i + k >= tokens.size() || !tokens.get(i + k).is(keywords[k])) {
                return false;
            }
        }
        return true;
    }

    /** How pg_dump writes an identifier: bare when it is a lower-case, non-keyword word, else quoted. */
    public static String ident(String name) {
        return Db.quoteIdent(name);
    }

    public static String qualified(String schema, String name) {
        return Db.qualified(schema, name);
    }

    private static boolean isIdentStart(char c) {
        return Character.isLetter(c) || c == '_' || c >= 0x80;
    }

    private static boolean isIdentPart(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$' || c >= 0x80;
    }

    private static int skipBlockComment(String s, int i) {
        int depth = 0;
        int n = s.length();
        while (i < n) {
            if (s.startsWith("/*", i)) {
                depth++;
                i += 2;
            } else if (s.startsWith("*/", i)) {
                depth--;
                i += 2;
                if (depth == 0) {
                    return i;
                }
            } else {
                i++;
            }
        }
        return n;
    }

    /** End (exclusive) of a '...' string literal starting at i; E'' strings also escape with backslashes. */
    private static int skipString(String s, int i, boolean backslashEscapes) {
        return skipQuoted(s, i, '\'', backslashEscapes);
    }

    /** End (exclusive) of a "..." quoted identifier starting at i. */
    private static int skipQuoted(String s, int i) {
        return skipQuoted(s, i, '"', false);
    }

    /** End (exclusive) of text quoted with {@code quote} starting at i, where a doubled quote stands for itself. */
    private static int skipQuoted(String s, int i, char quote, boolean backslashEscapes) {
        int n = s.length();
        i++;
        while (i < n) {
            char c = s.charAt(i);
            if (backslashEscapes && c == '\\') {
                i += 2;
            } else if (c == quote) {
                if (i + 1 < n && s.charAt(i + 1) == quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            } else {
                i++;
            }
        }
        return n;
    }

    /** End (exclusive) of a dollar-quote opening tag at i ($$ or $tag$), or -1. */
    private static int dollarTagEnd(CharSequence s, int i) {
        int j = i + 1;
        while (j < s.length() && s.charAt(j) != '$') {
            char c = s.charAt(j);
            if (!(Character.isLetterOrDigit(c) || c == '_' || c >= 0x80) || (j == i + 1 && Character.isDigit(c))) {
                return -1;
            }
            j++;
        }
        return j < s.length() ? j + 1 : -1;
    }

    private static int skipDollar(String s, int i) {
        int tagEnd = dollarTagEnd(s, i);
        String tag = s.substring(i, tagEnd);
        int close = s.indexOf(tag, tagEnd);
        return close < 0 ? s.length() : close + tag.length();
    }

    /**
     * Splits a script, fed line by line, into statements the way psql does: a semicolon ends a
     * statement only outside quotes, comments and parentheses. Comment and blank lines between
     * statements, and psql meta-command lines, are reported separately.
     */
    public static final class Splitter {
        public interface Sink {
            void statement(String sql);

            /** A comment or blank line between statements, e.g. pg_restore's entry headers. */
            void between(String line);

            /** A backslash command line between statements, e.g. \restrict. */
            void meta(String line);
        }

        private final StringBuilder current = new StringBuilder();
        private int scanned;
        private int depth;
        private int blockDepth;
        private char quote; // 0, '\'', '"', or '$' for a dollar quote
        private boolean backslash;
        private String dollarTag;
        private final Sink sink;

        public Splitter(Sink sink) {
            this.sink = sink;
        }

        public boolean inStatement() {
            return !current.toString().isBlank();
        }

        public void line(String line) {
            if (!inStatement() && quote == 0 && blockDepth == 0) {
                String stripped = line.strip();
                if (stripped.isEmpty() || stripped.startsWith("--")) {
                    sink.between(line);
                    return;
                }
                if (stripped.startsWith("\\")) {
                    sink.meta(stripped);
                    return;
                }
                current.setLength(0);
                scanned = 0;
            }
            current.append(line).append('\n');
            scan();
        }

        /** Text left over at the end of the script, which lacked a final semicolon. */
        public String rest() {
            return current.toString().strip();
        }

        private static boolean at(StringBuilder s, int i, String what) {
            if (i + what.length() > s.length()) {
                return false;
            }
            for (int k = 0; k < what.length(); k++) {
                if (s.charAt(i + k) != what.charAt(k)) {
                    return false;
                }
            }
            return true;
        }

        private void scan() {
            int n = current.length();
            int i = scanned;
            while (i < n) {
                char c = current.charAt(i);
                if (blockDepth > 0) {
                    if (c == '*' && i + 1 < n && current.charAt(i + 1) == '/') {
                        blockDepth--;
                        i += 2;
                    } else if (c == '/' && i + 1 < n && current.charAt(i + 1) == '*') {
                        blockDepth++;
                        i += 2;
                    } else {
                        i++;
                    }
                    continue;
                }
                if (quote == '\'') {
                    if (backslash && c == '\\') {
                        i += 2;
                    } else if (c == '\'') {
                        if (i + 1 < n && current.charAt(i + 1) == '\'') {
                            i += 2;
                        } else {
                            quote = 0;
                            i++;
                        }
                    } else {
                        i++;
                    }
                    continue;
                }
                if (quote == '"') {
                    if (c == '"') {
                        if (i + 1 < n && current.charAt(i + 1) == '"') {
                            i += 2;
                        } else {
                            quote = 0;
                            i++;
                        }
                    } else {
                        i++;
                    }
                    continue;
                }
                if (quote == '$') {
                    if (at(current, i, dollarTag)) {
                        i += dollarTag.length();
                        quote = 0;
                    } else {
                        i++;
                    }
                    continue;
                }
                if (c == '-' && i + 1 < n && current.charAt(i + 1) == '-') {
                    int eol = current.indexOf("\n", i);
                    i = eol < 0 ? n : eol;
                } else if (c == '/' && i + 1 < n && current.charAt(i + 1) == '*') {
                    blockDepth = 1;
                    i += 2;
                } else if (c == '\'') {
                    backslash = i > 0 && (current.charAt(i - 1) == 'e' || current.charAt(i - 1) == 'E')
                            && (i < 2 || !isIdentPart(current.charAt(i - 2)));
                    quote = '\'';
                    i++;
                } else if (c == '"') {
                    quote = '"';
                    i++;
                } else if (c == '$' && (i == 0 || !isIdentPart(current.charAt(i - 1)))) {
                    int end = dollarTagEnd(current, i);
                    if (end > 0) {
                        dollarTag = current.substring(i, end);
                        quote = '$';
                        i = end;
                    } else {
                        i++;
                    }
                } else if (isIdentPart(c)) {
                    while (i < n && isIdentPart(current.charAt(i))) {
                        i++;
                    }
                } else if (c == '(') {
                    depth++;
                    i++;
                } else if (c == ')') {
                    depth--;
                    i++;
                } else if (c == ';' && depth <= 0) {
                    String statement = current.substring(0, i + 1);
                    String remainder = current.substring(i + 1);
                    current.setLength(0);
                    scanned = 0;
                    depth = 0;
                    sink.statement(statement.strip());
                    if (!remainder.isBlank()) {
                        current.append(remainder);
                        scan();
                    }
                    return;
                } else {
                    i++;
                }
            }
            scanned = i;
        }
    }
}
