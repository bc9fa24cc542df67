package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The retention rule on a directory store with a fixed clock (the Object Lock cases run on a
 * real S3 server in cli.ImmutabilityTest), the key formats against OpenSSL, and what a
 * directory refuses.
 */
class PrunerTest {
    static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");

    private static void checkpoint(Store store, String tag, Instant createdAt, Boolean proven) {
        Manifest m = new Manifest(Manifest.FORMAT_VERSION, tag, null, null, "db", createdAt, createdAt, "15.4", 15, "pg_dump 15.4",
                new Manifest.Archive(Manifest.ARCHIVE, 3, "00", "custom", "gzip:1"),
                new Manifest.LedgerSummary(0, 0, 0, List.of()), new Manifest.Timings(0, 0, 0), null);
        store.putNew(Manifest.key(tag, Manifest.ARCHIVE), new byte[] {1, 2, 3});
        store.putNew(Manifest.key(tag, Manifest.MANIFEST), Json.bytes(m));
        if (proven != null) {
            store.put(Manifest.key(tag, Manifest.DRILL), Json.bytes(new DrillReport(tag, proven, createdAt, null, null, 0, 0, 0, 0,
                    List.of(), 0, 0, 0, 0, null, 0, List.of())));
        }
    }

    private static Map<String, String> reasons(PruneResult r) {
        Map<String, String> m = new TreeMap<>();
        r.kept().forEach(k -> m.put(k.tag(), k.reason()));
        r.removed().forEach(x -> m.put(x.tag(), "REMOVED"));
        return m;
    }

    @Test
    void maxAgeAndKeepLastKeepEitherWayTheNewestProvenAlwaysAndOldOrphansGo(@TempDir Path dir) throws Exception {
        FileStore store = new FileStore(dir);
        checkpoint(store, "d40", NOW.minus(Duration.ofDays(40)), true);    // the newest proven, though old
        checkpoint(store, "d35", NOW.minus(Duration.ofDays(35)), false);   // drill failed
        checkpoint(store, "d31", NOW.minus(Duration.ofDays(31)), null);
        checkpoint(store, "d20", NOW.minus(Duration.ofDays(20)), null);
        checkpoint(store, "d01", NOW.minus(Duration.ofDays(1)), null);
        store.putNew("old-orphan/archive.dump", new byte[] {1});
        Files.setLastModifiedTime(dir.resolve("old-orphan/archive.dump"), FileTime.from(NOW.minus(Duration.ofHours(7))));
        store.putNew("young-orphan/archive.dump", new byte[] {1});
        Files.setLastModifiedTime(dir.resolve("young-orphan/archive.dump"), FileTime.from(NOW.minus(Duration.ofHours(5))));

        Pruner pruner = new Pruner(store, Progress.SILENT, () -> NOW);
        PruneResult dry = pruner.prune(new Pruner.Rule(1, Pruner.parseAge("30d"), Set.of("d31"), true));
        assertEquals(Map.of("d40", "newest-proven", "d35", "REMOVED", "d31", "protected", "d20", "max-age", "d01", "keep-last",
                "old-orphan", "REMOVED", "young-orphan", "in-progress"), reasons(dry));
        assertTrue(Files.exists(dir.resolve("d35/manifest.json")) && Files.exists(dir.resolve("old-orphan")), "dry run");

        PruneResult run = pruner.prune(new Pruner.Rule(1, Pruner.parseAge("720h"), Set.of("d31"), false));
        assertEquals(reasons(dry), reasons(run), "720h is 30d");
        assertFalse(Files.exists(dir.resolve("d35")), "every file and the tag's directory removed");
        assertFalse(Files.exists(dir.resolve("old-orphan")));
        assertEquals(List.of("d01", "d20", "d31", "d40", "young-orphan"), store.listTags());

        // keep-last alone: the newest N complete ones; max-age alone: the young ones
        assertEquals("REMOVED", reasons(pruner.prune(new Pruner.Rule(1, null, Set.of(), true))).get("d20"));
        assertEquals("max-age", reasons(pruner.prune(new Pruner.Rule(null, Duration.ofDays(21), Set.of(), true))).get("d20"));
        assertEquals("usage.prune", assertThrows(CheckpointException.class,
                () -> new Pruner.Rule(null, null, Set.of(), true)).code(), "a rule is required");
        assertEquals("usage.duration", assertThrows(CheckpointException.class, () -> Pruner.parseAge("a month")).code());
    }

    @Test
    void deleteIsIdempotentAndADirectoryRefusesLocksAndEncryption(@TempDir Path dir) {
        FileStore store = new FileStore(dir);
        checkpoint(store, "gone", NOW, true);
        Pruner pruner = new Pruner(store, Progress.SILENT, () -> NOW);
        DeleteResult first = pruner.delete("gone");
        assertTrue(first.deleted());
        assertEquals(3, first.objects());
        assertFalse(Files.exists(dir.resolve("gone")));
        assertFalse(pruner.delete("gone").deleted());
        assertEquals("store.lock-unsupported", assertThrows(CheckpointException.class, () -> store.protect(
                new Store.Protection(new Manifest.ObjectLock("COMPLIANCE", NOW.plusSeconds(60)), null, null))).code());
        assertEquals("store.sse-unsupported", assertThrows(CheckpointException.class, () -> store.protect(
                new Store.Protection(null, new Manifest.Encryption("AES256", null), null))).code());
    }

    /** An S3-compatible server without versions or Object Lock (S3Proxy): prune and delete still work, one version per object. */
    @Test
    void pruneAndDeleteOnAServerWithoutVersioningOrObjectLock(@TempDir Path dir) throws Exception {
        try (TestS3 s3 = new TestS3(dir)) {
            s3.createBucket("plain");
            try (Store store = Stores.open("s3://plain/p", s3.settings())) {
                checkpoint(store, "old", NOW.minus(Duration.ofDays(3)), null);
                checkpoint(store, "new", NOW.minus(Duration.ofDays(1)), true);
                Pruner pruner = new Pruner(store, Progress.SILENT, () -> NOW);
                PruneResult r = pruner.prune(new Pruner.Rule(null, Duration.ofDays(2), Set.of(), false));
                assertEquals(Map.of("old", "REMOVED", "new", "newest-proven"), reasons(r));
                assertEquals(List.of("new"), store.listTags());
                assertEquals(3, pruner.delete("new").objects());
                assertEquals(List.of(), store.listTags());
            }
        }
    }

    /** Keys made by OpenSSL work, and ours are what OpenSSL reads: no private format of our own. */
    @Test
    void keysAreTheStandardPemFormsOpensslWritesAndReads(@TempDir Path dir) throws Exception {
        Path key = dir.resolve("k.pem");
        Path pub = dir.resolve("k.pub");
        run("openssl", "genpkey", "-algorithm", "ed25519", "-out", key.toString());
        run("openssl", "pkey", "-in", key.toString(), "-pubout", "-out", pub.toString());
        byte[] data = "manifest bytes".getBytes(StandardCharsets.UTF_8);
        byte[] sig = Signatures.sign(Signatures.privateKey(key), data);
        assertTrue(Signatures.verify(Signatures.publicKey(pub), data, sig));
        assertFalse(Signatures.verify(Signatures.publicKey(pub), "manifest bytes!".getBytes(StandardCharsets.UTF_8), sig));

        KeyPair ours = Signatures.generate();
        Path ourKey = Files.writeString(dir.resolve("ours.pem"), Signatures.pem(ours.getPrivate()));
        Path ourPub = Files.writeString(dir.resolve("ours.pub"), Signatures.pem(ours.getPublic()));
        String derived = run("openssl", "pkey", "-in", ourKey.toString(), "-pubout");
        assertEquals(Files.readString(ourPub).strip(), derived.strip(), "OpenSSL derives the same public key from our private one");
        assertEquals("usage.verify-key", assertThrows(CheckpointException.class,
                () -> Signatures.publicKey(Files.readString(ourKey), "PGCHECKPOINT_VERIFY_KEY")).code(), "a private key is no verify key");
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", command) + ": " + out);
        return out;
    }
}
