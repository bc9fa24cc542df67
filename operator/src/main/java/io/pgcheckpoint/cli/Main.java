package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.CheckpointException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The single entry point of the jar: every role of pgcheckpoint is a subcommand. */
@Command(name = "pgcheckpoint", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Seal a pg_dump checkpoint before a migration, prove it restorable, restore tables surgically.",
        subcommands = {SealCommand.class, DrillCommand.class, RestoreCommand.class, DiffCommand.class, ListCommand.class, ShowCommand.class, PruneCommand.class, DeleteCommand.class, KeygenCommand.class, OperatorCommand.class, CreateCommand.class, StatusCommand.class, CdsTrainingCommand.class},
        footer = {"", "Exit codes: 0 success, 1 the checkpoint operation failed (message says why), 2 invalid usage."})
public final class Main implements Runnable {
    public static final int FAILED = 1;
    public static final int USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        int code = execute(args);
        if (System.getenv("PGCHECKPOINT_REPORT_HEAP") != null) {
            System.err.println("peak heap MB: " + peakHeapMegabytes());
            System.err.println("peak RSS MB: " + peakRssMegabytes());
        }
        System.exit(code);
    }

    /** Sum of every heap pool's peak: an upper bound of the heap ever in use, for the benchmark. */
    static long peakHeapMegabytes() {
        long bytes = 0;
        for (java.lang.management.MemoryPoolMXBean pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == java.lang.management.MemoryType.HEAP) {
                bytes += pool.getPeakUsage().getUsed();
            }
        }
        return bytes / (1024 * 1024);
    }

    /**
     * This JVM's own peak resident set (VmHWM), without its children: the throwaway server's
     * backends, pg_dump and pg_restore are not the JVM's memory. -1 where /proc is not there.
     */
    static long peakRssMegabytes() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }

    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            Object command = commandLine.getCommand();
            Output output = command instanceof StoreCommand sc ? sc.output
                    : command instanceof ClusterCommand cc ? cc.output : new Output();
            if (e instanceof CheckpointException ce) {
                output.error(ce.code(), ce.getMessage());
                return ce.code().startsWith("usage.") ? USAGE : FAILED;
            }
            if (e instanceof io.fabric8.kubernetes.client.KubernetesClientException ke) {
                output.error("cluster.error", "the Kubernetes API refused or could not be reached (" + ke.getMessage()
                        + "): check the kubeconfig (KUBECONFIG) and your permissions");
                return FAILED;
            }
            output.error("internal", e.toString());
            e.printStackTrace(System.err);
            return FAILED;
        });
        return cli.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"pgcheckpoint " + (v == null ? "dev" : v)};
        }
    }
}
