package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.DrillReport;
import io.pgcheckpoint.engine.Json;
import io.pgcheckpoint.engine.Manifest;
import io.pgcheckpoint.engine.Sizes;
import io.pgcheckpoint.engine.Store;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "list", mixinStandardHelpOptions = true,
        description = {"With --store: the checkpoint history rebuilt from the store alone (tag, time, commit, size, proven or not).",
                "Without: the Checkpoints in the cluster (current kubeconfig)."})
final class ListCommand extends StoreCommand implements Callable<Integer> {
    @picocli.CommandLine.Option(names = {"-n", "--namespace"}, description = "Namespace for the cluster listing (default: all).")
    String namespace;

    @Override
    public Integer call() {
        if (store == null || store.isBlank()) {
            return listCluster();
        }
        try (Store s = openStore()) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (String tag : s.listTags()) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("tag", tag);
                Optional<byte[]> manifestBytes = s.read(Manifest.key(tag, Manifest.MANIFEST));
                if (manifestBytes.isEmpty()) {
                    row.put("state", "incomplete");
                    rows.add(row);
                    continue;
                }
                Manifest m;
                try {
                    m = io.pgcheckpoint.engine.Archives.trusted(s, tag, manifestBytes.get());
                } catch (io.pgcheckpoint.engine.CheckpointException e) {
                    if (!e.code().startsWith("manifest.") && !e.code().equals("store.corrupt-json")) {
                        throw e;
                    }
                    // refused, not shown: nothing of an untrusted or unreadable manifest is taken for true
                    row.put("state", e.code().equals("store.corrupt-json") ? "corrupt" : "untrusted");
                    row.put("error", e.code());
                    row.put("message", e.getMessage());
                    rows.add(row);
                    continue;
                }
                Optional<DrillReport> drill = s.read(Manifest.key(tag, Manifest.DRILL)).map(b -> Json.read(b, DrillReport.class));
                row.put("state", drill.map(d -> d.proven() ? "proven" : "drill-failed").orElse("sealed"));
                row.put("sealedAt", m.snapshotTime().toString());
                row.put("commit", m.commit());
                row.put("bytes", m.archive().bytes());
                row.put("tables", m.ledger().tableCount());
                row.put("rows", m.ledger().totalRows());
                if (m.objectLock() != null) {
                    row.put("lockMode", m.objectLock().mode());
                    row.put("retainUntil", m.objectLock().retainUntil().toString());
                }
                if (m.encryption() != null) {
                    row.put("encryption", m.encryption().algorithm());
                }
                rows.add(row);
            }
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("ok", true);
            json.put("store", s.uri());
            json.put("checkpoints", rows);
            if (output.json()) {
                // The history can be long: not a termination message, so no 4 KiB cut here.
                System.out.println(Json.compact(json));
                return 0;
            }
            System.out.printf("%-32s %-13s %-22s %-12s %10s %8s %12s  %s%n", "TAG", "STATE", "SEALED", "COMMIT", "SIZE", "TABLES", "ROWS",
                    "LOCKED UNTIL");
            for (Map<String, Object> r : rows) {
                Object bytes = r.get("bytes");
                System.out.printf("%-32s %-13s %-22s %-12s %10s %8s %12s  %s%n", r.get("tag"), r.get("state"),
                        r.getOrDefault("sealedAt", "-").toString().replaceFirst("\\.\\d+Z$", "Z"),
                        abbreviate((String) r.get("commit")), bytes == null ? "-" : Sizes.human((Long) bytes),
                        r.getOrDefault("tables", "-"), r.getOrDefault("rows", "-"),
                        r.containsKey("retainUntil") ? r.get("retainUntil") + " (" + r.get("lockMode") + ")"
                                : r.containsKey("error") ? r.get("error") : "-");
            }
            if (rows.isEmpty()) {
                System.out.println("(no checkpoints in " + s.uri() + ")");
            }
            return 0;
        }
    }

    private static String abbreviate(String commit) {
        return commit == null ? "-" : commit.length() > 12 ? commit.substring(0, 12) : commit;
    }

    private int listCluster() {
        try (io.fabric8.kubernetes.client.KubernetesClient client = new io.fabric8.kubernetes.client.KubernetesClientBuilder().build()) {
            var resources = client.resources(io.pgcheckpoint.api.Checkpoint.class);
            List<io.pgcheckpoint.api.Checkpoint> items = namespace == null ? resources.inAnyNamespace().list().getItems()
                    : resources.inNamespace(namespace).list().getItems();
            List<Map<String, Object>> rows = items.stream().map(ClusterCommand::summary).toList();
            if (output.json()) {
                System.out.println(Json.compact(Map.of("ok", true, "checkpoints", rows)));
                return 0;
            }
            System.out.printf("%-20s %-32s %-16s %-10s %10s%n", "DATABASE", "TAG", "NAME", "PHASE", "SIZE");
            for (io.pgcheckpoint.api.Checkpoint c : items) {
                Map<String, Object> r = ClusterCommand.summary(c);
                System.out.printf("%-20s %-32s %-16s %-10s %10s%n", r.get("database"), r.get("tag"), r.get("name"),
                        r.get("phase"), r.getOrDefault("size", "-"));
            }
            return 0;
        }
    }
}
