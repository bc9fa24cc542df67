package io.pgcheckpoint.controller;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Names of the operator's Jobs and the label values that point back to their owners: valid for
 * any valid object name (up to 253 characters, dots included) and unique per owner object.
 *
 * <p>A Job is named {@code <owner name, cut to 40>-<8 hex of sha256(owner UID)>-<role>}: at most
 * 55 characters (the Job controller puts the name in a label, so 63 is the limit), readable, and
 * different for two owners whose names share a prefix, and for an owner deleted and created
 * again under the same name (a new UID), whose old Jobs may still be there.
 */
public final class JobNames {
    static final int PREFIX = 40;
    static final int LABEL_VALUE_MAX = 63;

    private JobNames() {
    }

    public static String dump(HasMetadata checkpoint) {
        return of(checkpoint, "dump");
    }

    public static String drill(HasMetadata checkpoint) {
        return of(checkpoint, "drill");
    }

    /** The attempt-th cleanup Job of a deleted Checkpoint. */
    public static String cleanup(HasMetadata checkpoint, int attempt) {
        return of(checkpoint, "cleanup-" + attempt);
    }

    /** A Database's number-th prune Job. */
    public static String prune(HasMetadata database, int number) {
        return of(database, "prune-" + number);
    }

    public static String restore(HasMetadata restore) {
        return of(restore, "restore");
    }

    static String of(HasMetadata owner, String role) {
        String name = owner.getMetadata().getName().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
        return trimEnd(name.length() > PREFIX ? name.substring(0, PREFIX) : name) + "-"
                + hash(owner.getMetadata().getUid()) + "-" + role;
    }

    /** An object name as a label value: itself when it fits 63 characters, else cut and made unique with a hash. */
    public static String labelValue(String name) {
        if (name.length() <= LABEL_VALUE_MAX) {
            return name;
        }
        return trimEnd(name.substring(0, LABEL_VALUE_MAX - 9)) + "-" + hash(name);
    }

    /** Names and label values must end with a letter or digit. */
    private static String trimEnd(String s) {
        return s.replaceAll("[^a-z0-9A-Z]+$", "");
    }

    static String hash(String text) {
        return hash(text, 8);
    }

    /** The first {@code length} hex digits of the text's sha256. */
    static String hash(String text, int length) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(String.valueOf(text).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest).substring(0, length);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
