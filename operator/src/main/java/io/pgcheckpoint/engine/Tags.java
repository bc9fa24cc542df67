package io.pgcheckpoint.engine;

import java.util.regex.Pattern;

/** Tags name a checkpoint's folder in the store, so they must be safe path segments. */
public final class Tags {
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private Tags() {
    }

    public static String check(String tag) {
        if (tag == null || !VALID.matcher(tag).matches() || tag.contains("..")) {
            throw new CheckpointException("usage.tag", "invalid tag '" + tag
                    + "': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. pre-deploy-4f3a9c1)");
        }
        return tag;
    }

    /** The Checkpoint resource's name for a tag, as `create`, the HTTP API and the page make it. */
    public static String resourceName(String tag) {
        return tag.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9.-]", "-");
    }
}
