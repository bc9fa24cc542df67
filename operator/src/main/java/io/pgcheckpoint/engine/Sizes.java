package io.pgcheckpoint.engine;

import java.util.Locale;

public final class Sizes {
    private Sizes() {
    }

    /** 412.3 MB style, decimal units as storage consoles show them. */
    public static String human(long bytes) {
        if (bytes < 1000) {
            return bytes + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1000 && unit < units.length - 1) {
            value /= 1000;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
