package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.Archives;
import io.pgcheckpoint.engine.DrillReport;
import io.pgcheckpoint.engine.Json;
import io.pgcheckpoint.engine.Ledger;
import io.pgcheckpoint.engine.Manifest;
import io.pgcheckpoint.engine.Sizes;
import io.pgcheckpoint.engine.Store;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "show", mixinStandardHelpOptions = true,
        description = "One checkpoint from the store: its manifest, drill result and full ledger.")
final class ShowCommand extends StoreCommand implements Callable<Integer> {
    @Option(names = "--tag", required = true, description = "The checkpoint to show.")
    String tag;

    @Override
    public Integer call() {
        try (Store s = openStore()) {
            Manifest m = Archives.manifest(s, tag);
            Optional<DrillReport> drill = s.read(Manifest.key(tag, Manifest.DRILL)).map(b -> Json.read(b, DrillReport.class));
            if (output.json()) {
                // The full manifest can be large: printed whole, it is for people and scripts, not a termination message.
                java.util.Map<String, Object> json = new java.util.LinkedHashMap<>();
                json.put("manifest", m);
                drill.ifPresent(d -> json.put("drill", d));
                System.out.println(Json.compact(json));
                return 0;
            }
            System.out.printf("checkpoint  %s%n", m.tag());
            if (m.archive().isDirectory()) {
                System.out.printf("archive     %s/ (%s in %d files, directory format; sha256 of the file list %s)%n",
                        s.uri(Manifest.key(tag, m.archive().file())), Sizes.human(m.archive().bytes()),
                        m.archive().files().size(), m.archive().sha256());
            } else {
                System.out.printf("archive     %s (%s, sha256 %s)%n", s.uri(Manifest.key(tag, m.archive().file())),
                        Sizes.human(m.archive().bytes()), m.archive().sha256());
            }
            System.out.printf("snapshot    %s of %s (PostgreSQL %s, %s)%n", m.snapshotTime(), m.database(), m.serverVersion(), m.pgDumpVersion());
            System.out.printf("commit      %s%n", m.commit() == null ? "-" : m.commit());
            System.out.printf("lock        %s%n", m.objectLock() == null ? "none"
                    : m.objectLock().mode() + " until " + m.objectLock().retainUntil()
                            + (m.objectLock().holdsAt(java.time.Instant.now()) ? "" : " (expired)"));
            System.out.printf("encryption  %s%n", m.encryption() == null ? "none requested (an S3 bucket's default applies)"
                    : m.encryption().algorithm() + (m.encryption().kmsKeyId() == null ? "" : " key " + m.encryption().kmsKeyId()));
            System.out.printf("signature   %s%n", s.protection().verifyKey() != null ? "verified"
                    : s.exists(Manifest.key(tag, Manifest.SIGNATURE)) ? "present, not checked (no --verify-key)" : "none");
            System.out.printf("drill       %s%n", drill.map(d -> d.proven()
                    ? "PROVEN at " + d.drilledAt() + " (" + d.tablesChecked() + " tables, " + d.rowsChecked() + " rows)"
                    : "FAILED at " + d.drilledAt() + (d.failure() != null ? ": " + d.failure()
                            : ": " + d.mismatches().size() + " mismatches")).orElse("not drilled yet"));
            System.out.printf("ledger      %d tables, %d rows, %d large objects%n", m.ledger().tableCount(), m.ledger().totalRows(), m.ledger().largeObjects());
            for (Ledger.Entry e : m.ledger().tables()) {
                System.out.printf("  %-50s %14d  %s%n", e.display(), e.rows(), e.kind().equals("table") ? "" : e.kind());
            }
            return 0;
        }
    }
}
