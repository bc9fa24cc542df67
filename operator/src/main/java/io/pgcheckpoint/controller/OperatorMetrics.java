package io.pgcheckpoint.controller;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.pgcheckpoint.api.Checkpoint;
import io.pgcheckpoint.api.CheckpointStatus.Phase;
import java.time.Duration;
import java.util.function.Supplier;
import java.util.stream.Stream;

/** Prometheus metrics: checkpoints by phase, seal and drill durations, archive bytes, failures by reason. */
public final class OperatorMetrics {
    private final MeterRegistry registry;
    /** The Checkpoints in the operator's cache; set once the controller has its informer. */
    private volatile Supplier<Stream<Checkpoint>> checkpoints = Stream::empty;
    private final Timer seal;
    private final Timer drill;
    private final DistributionSummary archiveBytes;

    public OperatorMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (Phase phase : Phase.values()) {
            Gauge.builder("pgcheckpoint_checkpoints", this, m -> m.checkpoints.get()
                            .filter(c -> c.getStatus() != null && c.getStatus().phase == phase).count())
                    .description("Checkpoints known to this operator, by phase").tag("phase", phase.name()).register(registry);
        }
        seal = Timer.builder("pgcheckpoint_seal_duration").description("Dump Job run time").register(registry);
        drill = Timer.builder("pgcheckpoint_drill_duration").description("Drill Job run time").register(registry);
        archiveBytes = DistributionSummary.builder("pgcheckpoint_archive_bytes").baseUnit("bytes")
                .description("Size of sealed archives").register(registry);
    }

    /** Counts by phase come from the informer cache, so deleted Checkpoints drop out by themselves. */
    void observe(Supplier<Stream<Checkpoint>> cache) {
        this.checkpoints = cache;
    }

    void sealed(JobOutcome<?> outcome, long bytes) {
        record(seal, outcome);
        archiveBytes.record(bytes);
    }

    void proven(JobOutcome<?> outcome) {
        record(drill, outcome);
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
