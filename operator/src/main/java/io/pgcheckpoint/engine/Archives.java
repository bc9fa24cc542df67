package io.pgcheckpoint.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Reading checkpoints back: manifest first, then the archive verified against it. */
public final class Archives {
    private Archives() {
    }

    public static Manifest manifest(Store store, String tag) {
        Tags.check(tag);
        return store.read(Manifest.key(tag, Manifest.MANIFEST))
                .map(bytes -> trusted(store, tag, bytes))
                .orElseThrow(() -> store.exists(Manifest.key(tag, Manifest.ARCHIVE))
                        ? new CheckpointException("checkpoint.incomplete", "checkpoint '" + tag + "' in " + store.uri()
                                + " has an archive but no manifest: it was never sealed completely and cannot be trusted")
                        : new CheckpointException("checkpoint.not-found", "no checkpoint '" + tag + "' in " + store.uri()
                                + ": check the tag, or list the store with 'pgcheckpoint list --store " + store.uri() + "'"));
    }

    /**
     * Parses manifest bytes read from {@code tag}, first checking their signature when the store
     * has a verify key: a signed manifest of another tag copied here is refused too.
     */
    public static Manifest trusted(Store store, String tag, byte[] bytes) {
        java.security.PublicKey key = store.protection().verifyKey();
        if (key != null) {
            Signatures.check(store, tag, bytes, key);
        }
        Manifest m = Json.read(bytes, Manifest.class);
        if (key != null && !tag.equals(m.tag())) {
            throw new CheckpointException("manifest.signature-invalid", "the signed manifest under '" + tag + "' in " + store.uri()
                    + " belongs to checkpoint '" + m.tag() + "': it was copied here and must not be restored");
        }
        return m;
    }

    /**
     * Downloads the archive to a local file (pg_restore needs a seekable file for parallel and
     * selective restores of archives written to a pipe), verifying size and sha256 on the way.
     */
    public static Path download(Store store, Manifest manifest, Path dir, Progress progress) {
        String key = Manifest.key(manifest.tag(), manifest.archive().file());
        Path file = dir.resolve("archive.dump");
        MessageDigest sha256;
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long total = 0;
        long lastReport = System.nanoTime();
        try (InputStream in = store.open(key); OutputStream out = Files.newOutputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            int n;
            while ((n = in.read(buffer)) > 0) {
                sha256.update(buffer, 0, n);
                out.write(buffer, 0, n);
                total += n;
                if (System.nanoTime() - lastReport > 5_000_000_000L) {
                    progress.step("downloaded " + Sizes.human(total) + " of " + Sizes.human(manifest.archive().bytes()));
                    lastReport = System.nanoTime();
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("store.read", "downloading " + store.uri(key) + " failed after "
                    + Sizes.human(total) + ": " + e.getMessage(), e);
        }
        String actual = HexFormat.of().formatHex(sha256.digest());
        if (total != manifest.archive().bytes() || !actual.equals(manifest.archive().sha256())) {
            throw new CheckpointException("archive.checksum", "archive " + store.uri(key) + " does not match its manifest (expected "
                    + manifest.archive().bytes() + " bytes, sha256 " + manifest.archive().sha256() + "; found " + total
                    + " bytes, sha256 " + actual + "): it was altered or damaged after sealing and must not be restored; seal a new checkpoint");
        }
        return file;
    }
}
