package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointSpec;
import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.api.Database;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The series the chart's alerts are written against, computed from the caches at scrape time. */
class OperatorMetricsTest {
    static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");

    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    final OperatorMetrics metrics = new OperatorMetrics(registry, Clock.fixed(NOW, ZoneOffset.UTC));

    static Database database(String ns, String name, String created) {
        Database d = new Database();
        d.setMetadata(new ObjectMetaBuilder().withNamespace(ns).withName(name).withCreationTimestamp(created).build());
        return d;
    }

    static Checkpoint checkpoint(String ns, String name, String database, String created, Phase phase, String started,
                                 String sealed, String finished) {
        Checkpoint c = new Checkpoint();
        c.setMetadata(new ObjectMetaBuilder().withNamespace(ns).withName(name).withCreationTimestamp(created).build());
        c.setSpec(new CheckpointSpec());
        c.getSpec().database = database;
        if (phase != null) {
            CheckpointStatus s = new CheckpointStatus();
            s.phase = phase;
            s.startedAt = started;
            s.sealedAt = sealed;
            s.finishedAt = finished;
            c.setStatus(s);
        }
        return c;
    }

    /** "name{labels}" → value, from the Prometheus text format. */
    Map<String, Double> scrape() {
        Map<String, Double> out = new TreeMap<>();
        for (String line : registry.scrape().split("\n")) {
            if (!line.startsWith("#") && !line.isBlank()) {
                int space = line.lastIndexOf(' ');
                out.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
            }
        }
        return out;
    }

    static double epoch(String timestamp) {
        return Instant.parse(timestamp).getEpochSecond();
    }

    @Test
    void perDatabaseTimesAndOldestUnfinishedAgePerPhase() {
        List<Database> databases = List.of(
                database("shop", "prod", "2026-11-01T00:00:00Z"),
                database("shop", "empty", "2026-11-20T08:00:00Z"),
                database("other", "prod", "2026-10-01T00:00:00Z"));
        List<Checkpoint> checkpoints = List.of(
                checkpoint("shop", "a", "prod", "2026-11-25T09:00:00Z", Phase.Proven, "2026-11-25T09:00:01Z",
                        "2026-11-25T09:30:00Z", "2026-11-25T10:00:00Z"),
                checkpoint("shop", "b", "prod", "2026-11-24T09:00:00Z", Phase.Proven, null, null, "2026-11-24T10:00:00Z"),
                checkpoint("shop", "c", "prod", "2026-11-26T01:00:00Z", Phase.Failed, null, null, "2026-11-26T11:00:00Z"),
                checkpoint("shop", "d", "prod", "2026-11-26T11:49:00Z", Phase.Dumping, "2026-11-26T11:50:00Z", null, null),
                checkpoint("shop", "e", "prod", "2026-11-26T11:00:00Z", Phase.Dumping, "2026-11-26T11:30:00Z", null, null),
                checkpoint("shop", "f", "empty", "2026-11-26T11:55:00Z", null, null, null, null),
                checkpoint("shop", "g", "prod", "2026-11-26T10:00:00Z", Phase.Drilling, "2026-11-26T10:00:01Z",
                        "2026-11-26T11:00:00Z", null),
                checkpoint("other", "h", "prod", "2026-11-19T23:00:00Z", Phase.Proven, null, null, "2026-11-20T00:00:00Z"),
                checkpoint("shop", "i", "gone", "2026-11-10T00:00:00Z", Phase.Proven, null, null, "2026-11-10T01:00:00Z"));
        metrics.observe(checkpoints::stream);
        metrics.observeDatabases(databases::stream);

        Map<String, Double> m = scrape();
        assertEquals(epoch("2026-11-01T00:00:00Z"), m.get("pgcheckpoint_database_created_timestamp_seconds{database=\"prod\",namespace=\"shop\"}"), m.toString());
        assertEquals(epoch("2026-11-20T08:00:00Z"), m.get("pgcheckpoint_database_created_timestamp_seconds{database=\"empty\",namespace=\"shop\"}"));
        assertEquals(epoch("2026-10-01T00:00:00Z"), m.get("pgcheckpoint_database_created_timestamp_seconds{database=\"prod\",namespace=\"other\"}"));
        assertEquals(3, m.keySet().stream().filter(k -> k.startsWith("pgcheckpoint_database_created_timestamp_seconds{")).count());

        // the newest Proven per Database; Failed and unfinished ones do not count; none for "empty"
        assertEquals(epoch("2026-11-25T10:00:00Z"), m.get("pgcheckpoint_last_proven_timestamp_seconds{database=\"prod\",namespace=\"shop\"}"));
        assertEquals(epoch("2026-11-20T00:00:00Z"), m.get("pgcheckpoint_last_proven_timestamp_seconds{database=\"prod\",namespace=\"other\"}"));
        assertFalse(m.containsKey("pgcheckpoint_last_proven_timestamp_seconds{database=\"empty\",namespace=\"shop\"}"));
        // a deleted Database's Proven checkpoints still show; the alert joins on the created series
        assertEquals(epoch("2026-11-10T01:00:00Z"), m.get("pgcheckpoint_last_proven_timestamp_seconds{database=\"gone\",namespace=\"shop\"}"));

        // the longest wait in each unfinished phase, from when the checkpoint entered it
        assertEquals(300.0, m.get("pgcheckpoint_oldest_unfinished_checkpoint_age_seconds{phase=\"Pending\"}"), "f: no status yet, created 5 min ago");
        assertEquals(1800.0, m.get("pgcheckpoint_oldest_unfinished_checkpoint_age_seconds{phase=\"Dumping\"}"), "e: dump started 30 min ago");
        assertEquals(0.0, m.get("pgcheckpoint_oldest_unfinished_checkpoint_age_seconds{phase=\"Sealed\"}"), "none Sealed");
        assertEquals(3600.0, m.get("pgcheckpoint_oldest_unfinished_checkpoint_age_seconds{phase=\"Drilling\"}"), "g: sealed an hour ago");
        assertFalse(m.keySet().stream().anyMatch(k -> k.contains("age_seconds{phase=\"Proven\"}") || k.contains("age_seconds{phase=\"Failed\"}")));
        assertEquals(2.0, m.get("pgcheckpoint_checkpoints{phase=\"Dumping\"}"));
    }

    @Test
    void seriesGoWithTheirObjects() {
        List<Database> databases = List.of(database("shop", "prod", "2026-11-01T00:00:00Z"));
        List<Checkpoint> checkpoints = List.of(checkpoint("shop", "a", "prod", "2026-11-25T09:00:00Z", Phase.Proven, null, null,
                "2026-11-25T10:00:00Z"));
        metrics.observe(checkpoints::stream);
        metrics.observeDatabases(databases::stream);
        assertTrue(registry.scrape().contains("pgcheckpoint_last_proven_timestamp_seconds{database=\"prod\",namespace=\"shop\"}"));

        metrics.observe(Stream::empty);
        metrics.observeDatabases(Stream::empty);
        String text = registry.scrape();
        assertFalse(text.contains("pgcheckpoint_last_proven_timestamp_seconds{"), text);
        assertFalse(text.contains("pgcheckpoint_database_created_timestamp_seconds{"), text);
        assertTrue(text.contains("pgcheckpoint_oldest_unfinished_checkpoint_age_seconds{phase=\"Dumping\"} 0.0"), text);
    }
}
