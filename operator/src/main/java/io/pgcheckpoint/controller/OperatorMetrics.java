package io.pgcheckpoint.controller;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointStatus;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import io.pgcheckpoint.api.Database;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Prometheus metrics: checkpoints by phase, seal and drill durations, archive bytes, failures by
 * reason, and what the chart's alerts need: the age of the oldest checkpoint in each unfinished
 * phase, and per Database (labels namespace, database) its creation time and its newest Proven
 * checkpoint's finish time. All but the durations, sizes and failures are computed at scrape
 * time from the informer caches.
 */
public final class OperatorMetrics {
    static final String LAST_PROVEN = "pgcheckpoint_last_proven_timestamp_seconds";
    static final String DATABASE_CREATED = "pgcheckpoint_database_created_timestamp_seconds";
    private static final List<Phase> UNFINISHED = List.of(Phase.Pending, Phase.Dumping, Phase.Sealed, Phase.Drilling);
    private final MeterRegistry registry;
    private final Clock clock;
    /** The Checkpoints in the operator's cache; set once the controller has its informer. */
    private volatile Supplier<Stream<Checkpoint>> checkpoints = Stream::empty;
    /** The Databases in the operator's cache; set once the controller has its informer. */
    private volatile Supplier<Stream<Database>> databases = Stream::empty;
    private final Timer seal;
    private final Timer drill;
    private final DistributionSummary archiveBytes;

    public OperatorMetrics(MeterRegistry registry) {
        this(registry, Clock.systemUTC());
    }

    OperatorMetrics(MeterRegistry registry, Clock clock) {
        this.registry = registry;
        this.clock = clock;
        for (Phase phase : Phase.values()) {
            Gauge.builder("pgcheckpoint_checkpoints", this, m -> m.checkpoints.get()
                            .filter(c -> c.getStatus() != null && c.getStatus().phase == phase).count())
                    .description("Checkpoints known to this operator, by phase").tag("phase", phase.name()).register(registry);
        }
        seal = Timer.builder("pgcheckpoint_seal_duration").description("Dump Job run time").register(registry);
        drill = Timer.builder("pgcheckpoint_drill_duration").description("Drill Job run time").register(registry);
        archiveBytes = DistributionSummary.builder("pgcheckpoint_archive_bytes").baseUnit("bytes")
                .description("Size of sealed archives").register(registry);
        for (Phase phase : UNFINISHED) {
            Gauge.builder("pgcheckpoint_oldest_unfinished_checkpoint_age_seconds", this, m -> m.oldestAge(phase))
                    .description("Seconds since the longest-waiting checkpoint in this phase entered it (Pending: since it was "
                            + "created; Dumping: since its dump started; Sealed and Drilling: since it was sealed); 0 when none")
                    .tag("phase", phase.name()).register(registry);
        }
        // Label sets that come and go with Databases: a collector evaluated at each scrape.
        if (registry instanceof PrometheusMeterRegistry prometheus) {
            prometheus.getPrometheusRegistry().register(new DatabaseCollector());
        }
    }

    /** Counts by phase come from the informer cache, so deleted Checkpoints drop out by themselves. */
    void observe(Supplier<Stream<Checkpoint>> cache) {
        this.checkpoints = cache;
    }

    /** The Databases, for the per-Database series; deleted Databases drop out by themselves. */
    void observeDatabases(Supplier<Stream<Database>> cache) {
        this.databases = cache;
    }

    private double oldestAge(Phase phase) {
        Instant now = clock.instant();
        return checkpoints.get()
                .filter(c -> (c.getStatus() == null || c.getStatus().phase == null ? Phase.Pending : c.getStatus().phase) == phase)
                .map(c -> phaseEntered(c, phase))
                .filter(Objects::nonNull)
                .mapToDouble(t -> Math.max(0, Duration.between(t, now).toMillis() / 1000.0))
                .max().orElse(0);
    }

    /** When the checkpoint entered its (unfinished) phase, from the times the status records. */
    private static Instant phaseEntered(Checkpoint c, Phase phase) {
        CheckpointStatus s = c.getStatus();
        Instant created = instant(c.getMetadata().getCreationTimestamp());
        if (phase == Phase.Pending || s == null) {
            return created;
        }
        Instant started = Objects.requireNonNullElse(instant(s.startedAt), created);
        // The drill Job is created as soon as the archive is sealed, so Drilling is timed from sealedAt too.
        return phase == Phase.Dumping ? started : Objects.requireNonNullElse(instant(s.sealedAt), started);
    }

    private static Instant instant(String timestamp) {
        try {
            return timestamp == null ? null : Instant.parse(timestamp);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static String key(String namespace, String database) {
        return namespace + "/" + database;
    }

    /**
     * pgcheckpoint_database_created_timestamp_seconds{namespace,database}: one series per Database,
     * so that an alert can fire for a Database that has no Proven checkpoint at all;
     * pgcheckpoint_last_proven_timestamp_seconds{namespace,database}: the finish time of the
     * newest Proven checkpoint of each Database that has one.
     */
    private final class DatabaseCollector implements MultiCollector {
        @Override
        public MetricSnapshots collect() {
            Map<String, Instant> created = new TreeMap<>();
            databases.get().forEach(d -> created.put(key(d.getMetadata().getNamespace(), d.getMetadata().getName()),
                    Objects.requireNonNullElse(instant(d.getMetadata().getCreationTimestamp()), Instant.EPOCH)));
            Map<String, Instant> proven = new TreeMap<>();
            checkpoints.get()
                    .filter(c -> c.getStatus() != null && c.getStatus().phase == Phase.Proven && c.getSpec() != null)
                    .forEach(c -> {
                        Instant finished = instant(c.getStatus().finishedAt);
                        if (finished != null) {
                            proven.merge(key(c.getMetadata().getNamespace(), c.getSpec().database), finished,
                                    (a, b) -> a.isAfter(b) ? a : b);
                        }
                    });
            return new MetricSnapshots(
                    gauge(DATABASE_CREATED, "Creation time of each Database (Unix seconds)", created),
                    gauge(LAST_PROVEN, "Finish time of the newest Proven checkpoint of each Database (Unix seconds)", proven));
        }

        @Override
        public List<String> getPrometheusNames() {
            return List.of(DATABASE_CREATED, LAST_PROVEN);
        }

        private GaugeSnapshot gauge(String name, String help, Map<String, Instant> values) {
            GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
            values.forEach((k, t) -> {
                int slash = k.indexOf('/'); // namespace/name: neither part can contain a slash
                b.dataPoint(GaugeDataPointSnapshot.builder()
                        .labels(Labels.of("namespace", k.substring(0, slash), "database", k.substring(slash + 1)))
                        .value(t.toEpochMilli() / 1000.0).build());
            });
            return b.build();
        }
    }

    void sealed(JobOutcome<?> outcome, long bytes) {
        record(seal, outcome);
        archiveBytes.record(bytes);
    }

    void proven(JobOutcome<?> outcome) {
        record(drill, outcome);
    }

    /** pgcheckpoint_checkpoints_pruned_total{namespace, database}: checkpoints a prune Job removed. */
    void pruned(String namespace, String database, int removed) {
        registry.counter("pgcheckpoint_checkpoints_pruned", "namespace", namespace, "database", database).increment(removed);
    }

    void failed(String reason) {
        registry.counter("pgcheckpoint_failures", "reason", reason).increment();
    }

    private static void record(Timer timer, JobOutcome<?> outcome) {
        if (outcome.startedAt() != null && outcome.finishedAt() != null) {
            timer.record(Duration.between(outcome.startedAt(), outcome.finishedAt()));
        }
    }
}
