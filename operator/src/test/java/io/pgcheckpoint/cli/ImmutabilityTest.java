package io.pgcheckpoint.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgcheckpoint.engine.Fixtures;
import io.pgcheckpoint.engine.Json;
import io.pgcheckpoint.engine.LocalPostgres;
import io.pgcheckpoint.engine.Manifest;
import io.pgcheckpoint.engine.TestLockS3;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ObjectLockMode;
import software.amazon.awssdk.services.s3.model.ObjectVersion;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Issue 13 against a real S3 server with Object Lock (versitygw, {@link TestLockS3}), through the
 * command line as Jobs run it: locked checkpoints survive the bucket owner, prune and delete
 * never fight a lock, a bucket without Object Lock is refused before anything is written, and a
 * configured verify key refuses altered, replaced or unsigned manifests.
 */
class ImmutabilityTest {
    @TempDir
    static Path s3dir;
    static TestLockS3 s3;
    static LocalPostgres pg;
    static String db;

    @BeforeAll
    static void start() throws Exception {
        s3 = new TestLockS3(s3dir);
        pg = Fixtures.source("lock-pw");
        db = "postgresql://postgres:lock-pw@127.0.0.1:" + pg.port() + "/app";
        Fixtures.sql(pg.target("app"), "CREATE TABLE orders (id int primary key, total numeric); "
                + "INSERT INTO orders SELECT i, i * 1.5 FROM generate_series(1, 500) i");
    }

    @AfterAll
    static void stop() throws Exception {
        if (pg != null) {
            pg.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    private static String[] s3(String store, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--store", store, "--s3-endpoint", s3.endpoint(), "--s3-path-style", "--s3-region", "us-east-1"));
        return all.toArray(String[]::new);
    }

    private static CliTest.Run seal(String store, String tag, String... more) {
        List<String> args = new ArrayList<>(List.of("seal", "--db", db, "--tag", tag, "-o", "json"));
        args.addAll(List.of(more));
        return CliTest.run(s3(store, args.toArray(String[]::new)));
    }

    /** Every stored version in the bucket: key/versionId → sha of its bytes ("marker" for delete markers). */
    private static Map<String, String> snapshot(String bucket) {
        Map<String, String> all = new TreeMap<>();
        try (S3Client c = s3.client()) {
            var page = c.listObjectVersions(b -> b.bucket(bucket));
            for (ObjectVersion v : page.versions()) {
                byte[] bytes = c.getObjectAsBytes(b -> b.bucket(bucket).key(v.key()).versionId(v.versionId())).asByteArray();
                all.put(v.key() + "@" + v.versionId(), Integer.toHexString(java.util.Arrays.hashCode(bytes)));
            }
            page.deleteMarkers().forEach(m -> all.put(m.key() + "@" + m.versionId(), "marker"));
        }
        return all;
    }

    private static List<ObjectVersion> versions(String bucket, String prefix) {
        try (S3Client c = s3.client()) {
            return c.listObjectVersions(b -> b.bucket(bucket).prefix(prefix)).versions();
        }
    }

    private static void waitUntil(Instant t) throws InterruptedException {
        long ms = java.time.Duration.between(Instant.now(), t).toMillis() + 1500;
        if (ms > 0) {
            Thread.sleep(ms);
        }
    }

    @Test
    void complianceLockedCheckpointSurvivesTheBucketOwnerUntilRetainUntilThenDeleteRemovesEveryVersion() throws Exception {
        s3.createBucket("compliance", true);
        String store = "s3://compliance/prod";
        CliTest.Run sealed = seal(store, "pre-1", "--object-lock-mode", "COMPLIANCE", "--object-lock-seconds", "12");
        assertEquals(0, sealed.exit(), sealed.stderr() + sealed.stdout());
        JsonNode r = sealed.json();
        assertEquals("COMPLIANCE", r.get("lockMode").asText());
        Instant retainUntil = Instant.parse(r.get("retainUntil").asText());
        assertTrue(retainUntil.isAfter(Instant.now()), "retain-until lies ahead: " + retainUntil);

        // list and show report the lock
        CliTest.Run list = CliTest.run(s3(store, "list", "-o", "json"));
        JsonNode row = list.json().get("checkpoints").get(0);
        assertEquals(retainUntil.toString(), row.get("retainUntil").asText());
        assertEquals("COMPLIANCE", row.get("lockMode").asText());
        CliTest.Run show = CliTest.run(s3(store, "show", "--tag", "pre-1"));
        assertTrue(show.stdout().contains("lock        COMPLIANCE until " + retainUntil), show.stdout());

        try (S3Client owner = s3.client()) {
            Manifest m = Json.read(owner.getObjectAsBytes(b -> b.bucket("compliance").key("prod/pre-1/manifest.json")).asByteArray(),
                    Manifest.class);
            assertEquals(new Manifest.ObjectLock("COMPLIANCE", retainUntil), m.objectLock(), "the manifest records the lock");
            for (String file : List.of(Manifest.ARCHIVE, Manifest.MANIFEST)) {
                String key = "prod/pre-1/" + file;
                var head = owner.headObject(b -> b.bucket("compliance").key(key));
                assertEquals(ObjectLockMode.COMPLIANCE, head.objectLockMode(), key);
                assertEquals(retainUntil, head.objectLockRetainUntilDate(), key + " carries the manifest's retain-until");
                String version = head.versionId();
                byte[] before = owner.getObjectAsBytes(b -> b.bucket("compliance").key(key).versionId(version)).asByteArray();
                // the owner cannot delete the version, not even claiming a governance bypass
                S3Exception del = assertThrows(S3Exception.class,
                        () -> owner.deleteObject(b -> b.bucket("compliance").key(key).versionId(version)));
                assertEquals(403, del.statusCode(), del.getMessage());
                S3Exception bypass = assertThrows(S3Exception.class, () -> owner.deleteObject(b -> b.bucket("compliance").key(key)
                        .versionId(version).bypassGovernanceRetention(true)));
                assertEquals(403, bypass.statusCode());
                // nor shorten its retention
                S3Exception shorten = assertThrows(S3Exception.class, () -> owner.putObjectRetention(b -> b.bucket("compliance")
                        .key(key).versionId(version).retention(x -> x.mode("GOVERNANCE").retainUntilDate(Instant.now().plusSeconds(1)))));
                assertEquals(403, shorten.statusCode());
                // a write to the key is only a new version on top: the locked one stays byte for byte
                owner.putObject(b -> b.bucket("compliance").key(key), RequestBody.fromString("overwritten by the owner"));
                assertArrayEquals(before, owner.getObjectAsBytes(b -> b.bucket("compliance").key(key).versionId(version)).asByteArray(),
                        key + "'s locked version is unchanged");
            }
        }

        // delete refuses the locked checkpoint with store.locked, naming the date, and deletes nothing
        Map<String, String> before = snapshot("compliance");
        CliTest.Run refused = CliTest.run(s3(store, "delete", "--tag", "pre-1", "-o", "json"));
        assertEquals(1, refused.exit());
        assertEquals("store.locked", refused.json().get("error").asText());
        assertTrue(refused.json().get("message").asText().contains(retainUntil.toString()), refused.stdout());
        assertEquals(before, snapshot("compliance"), "a refused delete removes nothing");
        // the owner's manifest.json on top is what readers now get: list says so rather than failing
        CliTest.Run corrupt = CliTest.run(s3(store, "list", "-o", "json"));
        assertEquals("corrupt", corrupt.json().get("checkpoints").get(0).get("state").asText(), corrupt.stdout());

        // after retain-until, the owner's cleanup identity removes every version, delete markers included
        waitUntil(retainUntil);
        CliTest.Run deleted = CliTest.run(s3(store, "delete", "--tag", "pre-1", "-o", "json"));
        assertEquals(0, deleted.exit(), deleted.stdout() + deleted.stderr());
        assertTrue(deleted.json().get("deleted").asBoolean());
        assertEquals(4, deleted.json().get("objects").asInt(), "archive and manifest, each with the owner's version on top");
        assertTrue(versions("compliance", "prod/pre-1/").isEmpty());
        CliTest.Run again = CliTest.run(s3(store, "delete", "--tag", "pre-1", "-o", "json"));
        assertEquals(0, again.exit());
        assertFalse(again.json().get("deleted").asBoolean(), "idempotent: an absent tag is ok, deleted=false");
    }

    @Test
    void aParallelSealLocksEveryFileOfItsDirectoryArchiveAndIsProvenFromIt() throws Exception {
        s3.createBucket("parallel", true);
        String store = "s3://parallel/prod";
        CliTest.Run sealed = seal(store, "pre-p", "--jobs", "2", "--object-lock-mode", "COMPLIANCE", "--object-lock-seconds", "30");
        assertEquals(0, sealed.exit(), sealed.stderr() + sealed.stdout());
        Instant retainUntil = Instant.parse(sealed.json().get("retainUntil").asText());
        assertTrue(sealed.json().get("archive").asText().endsWith("/prod/pre-p/archive/"), sealed.stdout());
        try (S3Client owner = s3.client()) {
            Manifest m = Json.read(owner.getObjectAsBytes(b -> b.bucket("parallel").key("prod/pre-p/manifest.json")).asByteArray(),
                    Manifest.class);
            assertEquals("directory", m.archive().format());
            List<String> keys = new ArrayList<>();
            m.archive().files().forEach(f -> keys.add("prod/pre-p/archive/" + f.name()));
            keys.add("prod/pre-p/manifest.json");
            assertEquals(keys.size(), versions("parallel", "prod/pre-p/").size(), "one version of each file and the manifest");
            for (String key : keys) {
                var head = owner.headObject(b -> b.bucket("parallel").key(key));
                assertEquals(ObjectLockMode.COMPLIANCE, head.objectLockMode(), key);
                assertEquals(retainUntil, head.objectLockRetainUntilDate(), key);
            }
            String toc = "prod/pre-p/archive/toc.dat";
            String version = owner.headObject(b -> b.bucket("parallel").key(toc)).versionId();
            S3Exception del = assertThrows(S3Exception.class,
                    () -> owner.deleteObject(b -> b.bucket("parallel").key(toc).versionId(version)));
            assertEquals(403, del.statusCode(), del.getMessage());
        }
        CliTest.Run drill = CliTest.run(s3(store, "drill", "--tag", "pre-p", "-o", "json"));
        assertEquals(0, drill.exit(), drill.stderr() + drill.stdout());
        assertEquals("proven", drill.json().get("restoreDrill").asText(), drill.stdout());
        CliTest.Run show = CliTest.run(s3(store, "show", "--tag", "pre-p"));
        assertTrue(show.stdout().contains("directory format"), show.stdout());
    }

    @Test
    void governanceLockRefusesDeleteWithoutBypassAndTheDrillReportCarriesTheLock() throws Exception {
        s3.createBucket("governance", true);
        String store = "s3://governance/db";
        CliTest.Run sealed = seal(store, "gov-1", "--object-lock-mode", "GOVERNANCE", "--object-lock-days", "1");
        assertEquals(0, sealed.exit(), sealed.stderr());
        Instant retainUntil = Instant.parse(sealed.json().get("retainUntil").asText());
        assertTrue(retainUntil.isAfter(Instant.now().plusSeconds(86_000)), "--object-lock-days 1 is a day: " + retainUntil);
        CliTest.Run drill = CliTest.run(s3(store, "drill", "--tag", "gov-1", "-o", "json"));
        assertEquals(0, drill.exit(), drill.stderr());
        try (S3Client owner = s3.client()) {
            var report = owner.headObject(b -> b.bucket("governance").key("db/gov-1/drill.json"));
            assertEquals(ObjectLockMode.GOVERNANCE, report.objectLockMode(), "drill.json has the manifest's lock");
            assertEquals(retainUntil, report.objectLockRetainUntilDate());
            var archive = owner.headObject(b -> b.bucket("governance").key("db/gov-1/archive.dump"));
            S3Exception refused = assertThrows(S3Exception.class,
                    () -> owner.deleteObject(b -> b.bucket("governance").key("db/gov-1/archive.dump").versionId(archive.versionId())));
            assertEquals(403, refused.statusCode(), "GOVERNANCE: no delete without the bypass");
            CliTest.Run delete = CliTest.run(s3(store, "delete", "--tag", "gov-1", "-o", "json"));
            assertEquals("store.locked", delete.json().get("error").asText());
            assertEquals(3, versions("governance", "db/gov-1/").size(), "nothing deleted");
            // what GOVERNANCE is for: someone granted s3:BypassGovernanceRetention (here the root owner) can still remove it
            owner.deleteObject(b -> b.bucket("governance").key("db/gov-1/archive.dump").versionId(archive.versionId())
                    .bypassGovernanceRetention(true));
            assertEquals(2, versions("governance", "db/gov-1/").size());
        }
    }

    @Test
    void aBucketWithoutObjectLockIsRefusedBeforeAnythingIsWritten(@TempDir Path dir) {
        s3.createBucket("no-lock", false);
        CliTest.Run refused = seal("s3://no-lock/p", "x-1", "--object-lock-mode", "COMPLIANCE", "--object-lock-days", "7");
        assertEquals(1, refused.exit());
        assertEquals("store.lock-unsupported", refused.json().get("error").asText());
        assertTrue(refused.json().get("message").asText().contains("nothing was written"), refused.stdout());
        try (S3Client owner = s3.client()) {
            assertTrue(owner.listObjectsV2(b -> b.bucket("no-lock")).contents().isEmpty(), "nothing written");
        }
        CliTest.Run file = CliTest.run("seal", "--db", db, "--tag", "x-1", "--store", "file:" + dir, "-o", "json",
                "--object-lock-mode", "GOVERNANCE", "--object-lock-days", "7");
        assertEquals("store.lock-unsupported", file.json().get("error").asText(), "a directory cannot lock");
        assertFalse(Files.exists(dir.resolve("x-1")));
        CliTest.Run half = seal("s3://no-lock/p", "x-2", "--object-lock-mode", "COMPLIANCE");
        assertEquals(2, half.exit(), "mode without days is a usage error");
    }

    @Test
    void pruneKeepsLockedNewestProvenProtectedAndInProgressRemovesTheRestAndDryRunChangesNothing() throws Exception {
        s3.createBucket("retention", true);
        String store = "s3://retention/p";
        assertEquals(0, seal(store, "a-old").exit());
        assertEquals(0, seal(store, "b-proven").exit());
        assertEquals(0, CliTest.run(s3(store, "drill", "--tag", "b-proven")).exit());
        assertEquals(0, seal(store, "c-locked", "--object-lock-mode", "COMPLIANCE", "--object-lock-days", "1").exit());
        assertEquals(0, seal(store, "d-old").exit());
        assertEquals(0, seal(store, "e-protected").exit());
        assertEquals(0, seal(store, "f-newest").exit());
        try (S3Client owner = s3.client()) {
            // a seal still running: its archive, no manifest yet
            owner.putObject(b -> b.bucket("retention").key("p/g-running/archive.dump"), RequestBody.fromString("partial"));
        }
        Map<String, String> before = snapshot("retention");
        CliTest.Run dry = CliTest.run(s3(store, "prune", "--keep-last", "1", "--protect", "e-protected", "--dry-run", "-o", "json"));
        assertEquals(0, dry.exit(), dry.stdout() + dry.stderr());
        assertEquals(before, snapshot("retention"), "--dry-run changes nothing");
        assertTrue(dry.json().get("dryRun").asBoolean());
        assertEquals(List.of("d-old", "a-old"), tags(dry.json().get("removed")));
        Map<String, String> reasons = new TreeMap<>();
        dry.json().get("kept").forEach(k -> reasons.put(k.get("tag").asText(), k.get("reason").asText()));
        assertEquals(Map.of("b-proven", "newest-proven", "c-locked", "locked", "e-protected", "protected",
                "f-newest", "keep-last", "g-running", "in-progress"), reasons);
        JsonNode locked = java.util.stream.StreamSupport.stream(dry.json().get("kept").spliterator(), false)
                .filter(k -> k.get("tag").asText().equals("c-locked")).findFirst().orElseThrow();
        assertNotNull(locked.get("retainUntil"), "a locked one is reported with its retain-until");

        CliTest.Run pruned = CliTest.run(s3(store, "prune", "--keep-last", "1", "--protect", "e-protected", "-o", "json"));
        assertEquals(0, pruned.exit(), pruned.stdout());
        assertEquals(List.of("d-old", "a-old"), tags(pruned.json().get("removed")));
        assertTrue(versions("retention", "p/a-old/").isEmpty() && versions("retention", "p/d-old/").isEmpty());
        for (String kept : List.of("b-proven", "c-locked", "e-protected", "f-newest", "g-running")) {
            assertFalse(versions("retention", "p/" + kept + "/").isEmpty(), kept + " kept");
        }
        // the lock holds even when retention no longer wants the checkpoint: kept, reported, retried later
        Thread.sleep(1100);
        CliTest.Run maxAge = CliTest.run(s3(store, "prune", "--max-age", "1s", "-o", "json"));
        assertEquals(0, maxAge.exit(), maxAge.stdout());
        assertTrue(tags(maxAge.json().get("removed")).containsAll(List.of("e-protected", "f-newest")), maxAge.stdout());
        assertFalse(versions("retention", "p/c-locked/").isEmpty(), "locked: never removed");
        assertFalse(versions("retention", "p/b-proven/").isEmpty(), "the newest proven: never removed");
        assertEquals(1, CliTest.run(s3(store, "prune", "-o", "json")).exit() == 2 ? 1 : 0, "prune without a rule is refused");
    }

    private static byte[] get(S3Client c, String bucket, String key) {
        return c.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArray();
    }

    private static void put(S3Client c, String bucket, String key, byte[] data) {
        c.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(data));
    }

    @Test
    void aConfiguredVerifyKeyRefusesAlteredReplacedCopiedAndUnsignedManifestsAndPassesGoodOnes(@TempDir Path keys) throws Exception {
        s3.createBucket("signed", false);
        String store = "s3://signed/app";
        Path key = keys.resolve("seal.key");
        CliTest.Run keygen = CliTest.run("keygen", "--out", key.toString());
        assertEquals(0, keygen.exit(), keygen.stderr());
        String pub = key + ".pub";
        assertTrue(Files.readString(Path.of(pub)).startsWith("-----BEGIN PUBLIC KEY-----"));
        assertEquals(2, CliTest.run("keygen", "--out", key.toString()).exit(), "keys are never overwritten");
        assertEquals(0, CliTest.run("keygen", "--out", keys.resolve("other.key").toString()).exit());

        CliTest.Run sealed = seal(store, "good", "--signing-key", key.toString());
        assertEquals(0, sealed.exit(), sealed.stderr());
        assertTrue(sealed.json().get("signed").asBoolean());
        assertEquals(0, seal(store, "good-2", "--signing-key", key.toString()).exit());
        for (String tag : List.of("altered", "replaced", "unsigned-now", "copied")) {
            assertEquals(0, seal(store, tag, "--signing-key", key.toString()).exit());
        }
        assertEquals(0, seal(store, "never-signed").exit());

        // a good one passes every reader
        CliTest.Run drill = CliTest.run(s3(store, "drill", "--tag", "good", "--verify-key", pub, "-o", "json"));
        assertEquals(0, drill.exit(), drill.stdout() + drill.stderr());
        CliTest.Run show = CliTest.run(s3(store, "show", "--tag", "good", "--verify-key", pub));
        assertEquals(0, show.exit(), show.stderr());
        assertTrue(show.stdout().contains("signature   verified"), show.stdout());
        assertEquals(0, CliTest.run(s3(store, "diff", "--tag", "good", "--db", db, "--verify-key", pub)).exit());

        try (S3Client attacker = s3.client()) {   // write access to the bucket, not the private key
            // altered: one more row in the ledger
            Manifest m = Json.read(get(attacker, "signed", "app/altered/manifest.json"), Manifest.class);
            byte[] altered = new String(get(attacker, "signed", "app/altered/manifest.json"), StandardCharsets.UTF_8)
                    .replace("\"totalRows\" : " + m.ledger().totalRows(), "\"totalRows\" : " + (m.ledger().totalRows() + 1))
                    .getBytes(StandardCharsets.UTF_8);
            assertFalse(java.util.Arrays.equals(altered, get(attacker, "signed", "app/altered/manifest.json")));
            put(attacker, "signed", "app/altered/manifest.json", altered);
            // replaced: another database's archive with a manifest made to match it (sha256 and all)
            Fixtures.sql(pg.target("postgres"), "CREATE DATABASE other");
            Fixtures.sql(pg.target("other"), "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)");
            CliTest.Run evil = CliTest.run(s3("s3://signed/evil", "seal", "--db", db.replace("/app", "/other"), "--tag", "replaced"));
            assertEquals(0, evil.exit(), evil.stderr());
            put(attacker, "signed", "app/replaced/archive.dump", get(attacker, "signed", "evil/replaced/archive.dump"));
            put(attacker, "signed", "app/replaced/manifest.json", get(attacker, "signed", "evil/replaced/manifest.json"));
            // unsigned now: the signature removed
            attacker.deleteObject(b -> b.bucket("signed").key("app/unsigned-now/manifest.sig"));
            // copied: a validly signed manifest (and its signature and archive) of another tag
            for (String f : List.of("archive.dump", "manifest.json", "manifest.sig")) {
                put(attacker, "signed", "app/copied/" + f, get(attacker, "signed", "app/good-2/" + f));
            }
        }
        Map<String, String> expected = Map.of("altered", "manifest.signature-invalid", "replaced", "manifest.signature-invalid",
                "unsigned-now", "manifest.unsigned", "copied", "manifest.signature-invalid", "never-signed", "manifest.unsigned");
        for (var e : expected.entrySet()) {
            for (String command : List.of("show", "drill")) {
                CliTest.Run refused = CliTest.run(s3(store, command, "--tag", e.getKey(), "--verify-key", pub, "-o", "json"));
                assertEquals(1, refused.exit(), command + " " + e.getKey() + ": " + refused.stdout());
                assertEquals(e.getValue(), refused.json().get("error").asText(), command + " " + e.getKey() + ": " + refused.stdout());
            }
        }
        CliTest.Run restore = CliTest.run(s3(store, "restore", "--tag", "altered", "--table", "public.orders", "--target", db,
                "--verify-key", pub, "-o", "json"));
        assertEquals("manifest.signature-invalid", restore.json().get("error").asText(), restore.stdout());
        CliTest.Run diff = CliTest.run(s3(store, "diff", "--tag", "replaced", "--db", db, "--verify-key", pub, "-o", "json"));
        assertEquals("manifest.signature-invalid", diff.json().get("error").asText(), diff.stdout());
        // a signature by another key is no signature of ours
        CliTest.Run otherKey = CliTest.run(s3(store, "show", "--tag", "good", "--verify-key", keys.resolve("other.key.pub").toString(),
                "-o", "json"));
        assertEquals("manifest.signature-invalid", otherKey.json().get("error").asText());

        // list marks them untrusted and shows nothing they claim; prune leaves them alone and says why
        CliTest.Run list = CliTest.run(s3(store, "list", "--verify-key", pub, "-o", "json"));
        Map<String, String> states = new TreeMap<>();
        list.json().get("checkpoints").forEach(c -> states.put(c.get("tag").asText(), c.get("state").asText()));
        assertEquals(Map.of("good", "proven", "good-2", "sealed", "altered", "untrusted", "replaced", "untrusted",
                "unsigned-now", "untrusted", "copied", "untrusted", "never-signed", "untrusted"), states);
        CliTest.Run prune = CliTest.run(s3(store, "prune", "--keep-last", "0", "--verify-key", pub, "-o", "json"));
        assertEquals(1, prune.exit(), prune.stdout());
        Map<String, String> failed = new TreeMap<>();
        prune.json().get("failed").forEach(f -> failed.put(f.get("tag").asText(), f.get("code").asText()));
        assertEquals(new TreeMap<>(expected), failed);
        assertEquals(List.of("good-2"), tags(prune.json().get("removed")), "only trusted, unproven ones go");
        assertFalse(versions("signed", "app/altered/").isEmpty(), "an untrusted checkpoint is not removed");
    }

    @Test
    void serverSideEncryptionGoesOnEveryWriteAndIntoTheManifest() throws Exception {
        s3.createBucket("encrypted", true);
        try (io.pgcheckpoint.engine.RecordingProxy wire = new io.pgcheckpoint.engine.RecordingProxy(s3.port())) {
            String[] where = {"--store", "s3://encrypted/kms", "--s3-endpoint", wire.endpoint(), "--s3-path-style", "--s3-region", "us-east-1"};
            List<String> sealArgs = new ArrayList<>(List.of("seal", "--db", db, "--tag", "enc-1", "-o", "json", "--sse", "aws:kms",
                    "--sse-kms-key-id", "key-4f3a", "--object-lock-mode", "GOVERNANCE", "--object-lock-days", "1"));
            sealArgs.addAll(List.of(where));
            CliTest.Run sealed = CliTest.run(sealArgs.toArray(String[]::new));
            assertEquals(0, sealed.exit(), sealed.stdout() + sealed.stderr());
            List<String> drillArgs = new ArrayList<>(List.of("drill", "--tag", "enc-1"));   // no --sse: the manifest's
            drillArgs.addAll(List.of(where));
            assertEquals(0, CliTest.run(drillArgs.toArray(String[]::new)).exit());
            List<String> writes = new ArrayList<>();
            for (var r : wire.requests()) {
                String line = r.line();
                boolean objectWrite = line.startsWith("PUT ") && !line.contains("partNumber=") && !line.contains("retention")
                        || line.startsWith("POST ") && line.contains("?uploads");
                if (objectWrite) {
                    writes.add(line.split(" ")[1]);
                    assertEquals("aws:kms", r.headers().get("x-amz-server-side-encryption"), line);
                    assertEquals("key-4f3a", r.headers().get("x-amz-server-side-encryption-aws-kms-key-id"), line);
                    assertEquals("GOVERNANCE", r.headers().get("x-amz-object-lock-mode"), line);
                }
            }
            assertEquals(3, writes.stream().filter(w -> w.contains("/archive.dump") || w.contains("/manifest.json")
                    || w.contains("/drill.json")).count(), "archive (multipart start), manifest, drill report: " + writes);
            try (S3Client owner = s3.client()) {
                Manifest m = Json.read(get(owner, "encrypted", "kms/enc-1/manifest.json"), Manifest.class);
                assertEquals(new Manifest.Encryption("aws:kms", "key-4f3a"), m.encryption());
            }
        }
        CliTest.Run wrong = seal("s3://encrypted/kms", "enc-2", "--sse", "AES256", "--sse-kms-key-id", "k");
        assertEquals(2, wrong.exit(), "a KMS key id without aws:kms is a usage error");
    }

    private static List<String> tags(JsonNode array) {
        List<String> tags = new ArrayList<>();
        array.forEach(n -> tags.add(n.get("tag").asText()));
        return tags;
    }
}
