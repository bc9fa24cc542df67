package io.pgcheckpoint.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * Ed25519 signatures of manifests, with the JDK's own provider (no crypto library). The
 * signature covers manifest.json's exact bytes, which in turn hold the archive's sha256: whoever
 * can write the bucket but has not the private key can neither alter a manifest nor replace an
 * archive together with its manifest without the signature failing. Keys are PEM: the private
 * key PKCS#8 ({@code -----BEGIN PRIVATE KEY-----}), the public key X.509 SubjectPublicKeyInfo
 * ({@code -----BEGIN PUBLIC KEY-----}), as {@code openssl genpkey -algorithm ed25519} writes them.
 */
public final class Signatures {
    static final String ALGORITHM = "Ed25519";

    private Signatures() {
    }

    public static KeyPair generate() {
        try {
            return KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM has no Ed25519 (Java 15 or newer has)", e);
        }
    }

    public static String pem(PrivateKey key) {
        return pem("PRIVATE KEY", key.getEncoded());
    }

    public static String pem(PublicKey key) {
        return pem("PUBLIC KEY", key.getEncoded());
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    public static PrivateKey privateKey(Path file) {
        String text = readKeyFile(file, "signing");
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePrivate(new PKCS8EncodedKeySpec(der(text, "PRIVATE KEY", file.toString())));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new CheckpointException("usage.signing-key", "the signing key " + file + " is not an Ed25519 private key in "
                    + "PKCS#8 PEM (" + e.getMessage() + "): create one with 'pgcheckpoint keygen' or "
                    + "'openssl genpkey -algorithm ed25519'");
        }
    }

    /** @param source where the text came from, for messages (a file name or an environment variable) */
    public static PublicKey publicKey(String text, String source) {
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(der(text, "PUBLIC KEY", source)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new CheckpointException("usage.verify-key", "the verify key from " + source + " is not an Ed25519 public key "
                    + "in PEM (-----BEGIN PUBLIC KEY-----) (" + e.getMessage() + "): take the .pub file 'pgcheckpoint keygen' "
                    + "wrote, or 'openssl pkey -in KEY -pubout'");
        }
    }

    public static PublicKey publicKey(Path file) {
        return publicKey(readKeyFile(file, "verify"), file.toString());
    }

    private static String readKeyFile(Path file, String what) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new CheckpointException("usage." + what + "-key", "cannot read the " + what + " key " + file + ": " + e.getMessage());
        }
    }

    private static byte[] der(String pem, String type, String source) {
        String begin = "-----BEGIN " + type + "-----";
        String end = "-----END " + type + "-----";
        int from = pem.indexOf(begin);
        int to = pem.indexOf(end);
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("no " + begin + " block in " + source);
        }
        return Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
    }

    public static byte[] sign(PrivateKey key, byte[] data) {
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initSign(key);
            s.update(data);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new CheckpointException("usage.signing-key", "cannot sign with the given key: " + e.getMessage());
        }
    }

    public static boolean verify(PublicKey key, byte[] data, byte[] signature) {
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initVerify(key);
            s.update(data);
            return s.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** The signature object's content: the raw 64-byte signature, Base64, on one line. */
    public static byte[] encode(byte[] signature) {
        return (Base64.getEncoder().encodeToString(signature) + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] decode(byte[] stored) {
        try {
            return Base64.getDecoder().decode(new String(stored, StandardCharsets.US_ASCII).strip());
        } catch (IllegalArgumentException e) {
            return new byte[0];
        }
    }

    /**
     * Refuses manifest bytes that do not carry a valid signature by {@code key}: the codes
     * {@code manifest.unsigned} (no manifest.sig) and {@code manifest.signature-invalid}.
     */
    public static void check(Store store, String tag, byte[] manifest, PublicKey key) {
        String sigKey = Manifest.key(tag, Manifest.SIGNATURE);
        byte[] stored = store.read(sigKey).orElseThrow(() -> new CheckpointException("manifest.unsigned",
                "checkpoint '" + tag + "' in " + store.uri() + " has no signature (" + Manifest.SIGNATURE + ") but a verify key "
                        + "is configured: it was sealed without --signing-key, or its signature was removed; it is not trusted. "
                        + "Seal a new, signed checkpoint (or drop --verify-key/PGCHECKPOINT_VERIFY_KEY if unsigned ones are accepted)"));
        if (!verify(key, manifest, decode(stored))) {
            throw new CheckpointException("manifest.signature-invalid", "the manifest of checkpoint '" + tag + "' in "
                    + store.uri() + " does not match its signature under the configured verify key: the manifest (and "
                    + "perhaps the archive) was altered or replaced after sealing, or it was signed with another key; "
                    + "it must not be restored");
        }
    }
}
