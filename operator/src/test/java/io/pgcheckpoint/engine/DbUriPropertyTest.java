package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Passwords as real generators and secret stores produce them (base64, base64url, symbols)
 * survive a libpq URI, and no message ever shows a piece of one.
 */
public class DbUriPropertyTest {
    static final String SYMBOLS = "/?#@:%+=";
    static final String ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static final String BASE64 = ALNUM + "+/=";
    static final String BASE64URL = ALNUM + "-_";
    static final List<String> ALPHABETS = List.of(SYMBOLS, BASE64, BASE64URL, SYMBOLS + ALNUM, SYMBOLS + "xY7");
    static final int CASES = 4000;

    /** Deterministic: the same passwords on every run, so a failure reproduces. */
    static List<String> passwords(long seed) {
        Random random = new Random(seed);
        List<String> all = new ArrayList<>();
        for (int i = 0; i < CASES; i++) {
            String alphabet = ALPHABETS.get(i % ALPHABETS.size());
            int length = 1 + random.nextInt(i % 3 == 0 ? 8 : 48);
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < length; j++) {
                sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            all.add(sb.toString());
        }
        // the password of the issue, and base64 of random bytes as secret stores make them
        all.add("Zk8s3cr3tQ/x+Yw");
        for (int i = 0; i < 200; i++) {
            byte[] bytes = new byte[1 + random.nextInt(40)];
            random.nextBytes(bytes);
            all.add(java.util.Base64.getEncoder().encodeToString(bytes));
            all.add(java.util.Base64.getUrlEncoder().encodeToString(bytes));
        }
        return all;
    }

    /** RFC 3986 percent-encoding of everything but unreserved characters, as a careful tool writes a URI. */
    public static String encode(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0) {
                sb.append(c);
            } else {
                sb.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return sb.toString();
    }

    /** What libpq makes of a raw value: %XX decoded, '+' kept; null where libpq refuses it. */
    static String libpqDecode(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '%') {
                out.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
                continue;
            }
            if (i + 2 >= s.length() || hex(s.charAt(i + 1)) < 0 || hex(s.charAt(i + 2)) < 0) {
                return null;
            }
            int v = hex(s.charAt(i + 1)) * 16 + hex(s.charAt(i + 2));
            if (v == 0) {
                return null;
            }
            out.write(v);
            i += 2;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static int hex(char c) {
        return Character.digit(c, 16);
    }

    /** The first substring of at least 4 characters of {@code secret} found in {@code text}, or null. */
    public static String leak(String secret, String text) {
        for (int i = 0; i + 4 <= secret.length(); i++) {
            String piece = secret.substring(i, i + 4);
            if (text.contains(piece)) {
                return piece;
            }
        }
        return null;
    }

    @Test
    void percentEncodedPasswordsComeBackExactly() {
        for (String password : passwords(86)) {
            String uri = "postgresql://user:" + encode(password) + "@host:5432/db";
            DbTarget t;
            try {
                t = DbTarget.parse(uri, Map.of());
            } catch (RuntimeException e) {
                throw new AssertionError("cannot parse the encoded form of a password: " + e, e);
            }
            assertEquals(password, t.password(), uri);
            assertEquals("user", t.user());
            assertEquals("host", t.host());
            assertEquals(5432, t.port());
            assertEquals("db", t.database());
            assertNull(leak(password, t.describe()), "describe() shows part of the password");
            // '+' is a plus in libpq URIs, never a space
            assertEquals(password, DbTarget.parse("postgres://user@host/db?password=" + encode(password), Map.of()).password());
        }
    }

    @Test
    void rawPasswordsParseExactlyOrFailWithoutShowingAnyOfThem() {
        int parsed = 0;
        List<String> failures = new ArrayList<>();
        for (String password : passwords(87)) {
            String uri = "postgresql://user:" + password + "@host:5432/db";
            // a raw %XX is an encoding in any URI: libpq decodes it, and so must we
            String expected = password.indexOf('%') >= 0 ? libpqDecode(password) : password;
            try {
                DbTarget t = DbTarget.parse(uri, Map.of());
                if (expected == null || !expected.equals(t.password()) || !t.user().equals("user") || !t.host().equals("host")
                        || t.port() != 5432 || !t.database().equals("db")) {
                    failures.add(uri + " -> user=" + t.user() + " host=" + t.host() + " port=" + t.port() + " db=" + t.database()
                            + " password matches: " + password.equals(t.password()));
                    continue;
                }
                parsed++;
            } catch (CheckpointException e) {
                if (!e.code().startsWith("usage.")) {
                    failures.add(uri + " -> " + e.code() + ": " + e.getMessage());
                }
                String piece = leak(password, e.getMessage());
                if (piece != null) {
                    failures.add(uri + " -> message shows '" + piece + "': " + e.getMessage());
                }
            } catch (RuntimeException e) {
                failures.add(uri + " -> not a usage error: " + e);
            }
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + (CASES + 401) + " raw passwords misread or shown, e.g.:\n  "
                    + String.join("\n  ", failures.subList(0, Math.min(12, failures.size()))));
        }
        // every password without an invalid %-sequence has a reasonable reading: it must be found
        long readable = passwords(87).stream().filter(p -> p.indexOf('%') < 0 || libpqDecode(p) != null).count();
        assertEquals(readable, parsed, "raw passwords with a reasonable reading that were refused");
    }

    @Test
    void messagesNeverShowTheUserinfo() {
        String secret = "Zk8s3cr3tQ/x+Yw";
        for (String uri : List.of(
                "postgresql://app:" + secret + "@db.internal:notaport/app",
                "postgresql://app:" + secret + "@db.internal:99999/app",
                "postgresql://app:" + secret + "@db.internal:0/app",
                "postgresql://app:" + secret + "@db.internal/app?sslmode=maybe",
                "postgresql://app:" + secret + "%zz@db.internal/app",
                "postgresql://app:" + secret + "@h1,h2/app",
                "mysql://app:" + secret + "@db.internal/app",
                "mysql://app:" + secret + "@x@db.internal/app",
                "host=db.internal password=" + secret + " dbname=app",
                "postgresql://app:" + secret + "@db.internal/app?nonsense",
                "postgresql://app:" + secret)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> DbTarget.parse(uri, Map.of()), uri);
            assertEquals("usage.db-uri", e.code(), uri);
            assertNull(leak(secret, e.getMessage()), uri + " -> " + e.getMessage());
        }
        assertEquals("postgresql://***@db.internal/app", DbTarget.redact("postgresql://app:" + secret + "@db.internal/app"));
        assertEquals("postgresql://***@db.internal/app", DbTarget.redact("postgresql://app:a@b/c@db.internal/app"));
    }

    @Test
    void libpqReadingsAreKept() {
        // a raw '@' in a query value or in the database name is read as libpq reads it
        DbTarget t = DbTarget.parse("postgresql://u:pw@h/db?application_name=me@laptop", Map.of());
        assertEquals("pw", t.password());
        assertEquals("h", t.host());
        assertEquals("me@laptop", t.options().get("application_name"));
        assertEquals("my@db", DbTarget.parse("postgresql://u:pw@h/my@db", Map.of()).database());
        assertEquals("a/b", DbTarget.parse("postgresql://h/a/b", Map.of("PGUSER", "u")).database());
        // a raw '?' or '#' in a password: libpq takes everything up to the '@'
        assertEquals("p?w#d", DbTarget.parse("postgresql://u:p?w#d@h/db", Map.of()).password());
        assertEquals("a:b", DbTarget.parse("postgresql://u:a:b@h/db", Map.of()).password());
        // the issue: a raw '/' in a base64 password
        t = DbTarget.parse("postgresql://app:Zk8s3cr3tQ/x+Yw@db.internal:6432/orders", Map.of());
        assertEquals("Zk8s3cr3tQ/x+Yw", t.password());
        assertEquals("db.internal", t.host());
        assertEquals(6432, t.port());
        assertEquals("orders", t.database());
        assertEquals("a+b c", DbTarget.parse("postgresql://u@h/a+b%20c", Map.of()).database());
        assertEquals("::1", DbTarget.parse("postgresql://u:p/w@[::1]:5433/d", Map.of()).host());
        assertEquals("postgresql://u%40corp@h:5432/my%2Fdb", DbTarget.parse("postgresql://u%40corp@h/my%2Fdb", Map.of()).describe());
    }
}
