package io.pgcheckpoint.engine;

import java.util.concurrent.ThreadFactory;

/** Threads that never keep the JVM alive: a command ends when its main work does, whatever is still queued. */
public final class DaemonThreads {
    private DaemonThreads() {
    }

    /** A factory of daemon threads, all called {@code name}. */
    public static ThreadFactory named(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
