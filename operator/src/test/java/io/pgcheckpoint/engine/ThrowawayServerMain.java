package io.pgcheckpoint.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Run in a JVM of its own by {@link ThrowawayServerTest}: starts a throwaway PostgreSQL as a
 * drill does, prints one line {@code port=... pid=... dir=... cluster_name=...}, then keeps it
 * until stdin closes (or the JVM is killed).
 * <p>
 * {@code time N} instead starts and closes N servers and prints how long each start took.
 */
public final class ThrowawayServerMain {
    private ThrowawayServerMain() {
    }

    public static void main(String[] args) throws IOException, SQLException {
        PgTools tools = PgTools.locate();
        if (args.length == 2 && args[0].equals("time")) {
            List<Long> millis = new ArrayList<>();
            for (int i = 0; i < Integer.parseInt(args[1]); i++) {
                long t0 = System.nanoTime();
                try (LocalPostgres pg = LocalPostgres.start(tools, Progress.SILENT);
                     Connection c = Db.connect(pg.target("postgres"))) {
                    Db.queryString(c, "SELECT 1");
                    millis.add((System.nanoTime() - t0) / 1_000_000);
                }
            }
            List<Long> sorted = new ArrayList<>(millis);
            Collections.sort(sorted);
            System.out.println("start+first query ms: " + millis + " median " + sorted.get(sorted.size() / 2));
            return;
        }
        LocalPostgres pg = LocalPostgres.start(tools, Progress.SILENT);
        String pid = Files.readAllLines(pg.directory().resolve("data").resolve("postmaster.pid")).get(0).strip();
        String clusterName;
        try (Connection c = Db.connect(pg.target("postgres"))) {
            clusterName = Db.queryString(c, "SHOW cluster_name");
        }
        System.out.println("port=" + pg.port() + " pid=" + pid + " dir=" + pg.directory() + " cluster_name=" + clusterName);
        System.out.flush();
        while (System.in.read() >= 0) {
            // hold the server until stdin closes
        }
        pg.close();
    }
}
