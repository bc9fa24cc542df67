package io.pgcheckpoint.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.jar.JarFile;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The training run of the JVM's class-data sharing archive (docs/benchmarks.md): loads, without
 * initialising them, the classes seal, drill and restore use (the CLI, the engine, pgjdbc, Jackson,
 * picocli, the AWS SDK's S3 client) and renders their help, so that a JVM started with
 * {@code -XX:ArchiveClassesAtExit} writes them into the archive the launcher then maps at start.
 * It needs no database and no store. Hidden: only the build runs it.
 */
@Command(name = "cds-training", hidden = true, description = "Load the classes seal and drill use, for a CDS archive.")
final class CdsTrainingCommand implements Callable<Integer> {
    /** What seal, drill and restore load; the operator's Kubernetes client is left out. */
    static final List<String> PACKAGES = List.of("io/pgcheckpoint/cli/", "io/pgcheckpoint/engine/", "org/postgresql/",
            "com/fasterxml/jackson/", "picocli/", "software/amazon/awssdk/", "org/apache/http/", "org/slf4j/");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        ClassLoader loader = CdsTrainingCommand.class.getClassLoader();
        Path jar;
        try {
            jar = Path.of(CdsTrainingCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IOException(e);
        }
        List<String> names = new java.util.ArrayList<>();
        if (java.nio.file.Files.isDirectory(jar)) {
            // classes/ of a build, not the jar: its own classes only
            try (var walk = java.nio.file.Files.walk(jar)) {
                walk.map(p -> jar.relativize(p).toString().replace(java.io.File.separatorChar, '/')).forEach(names::add);
            }
        } else {
            try (JarFile file = new JarFile(jar.toFile())) {
                file.stream().map(java.util.jar.JarEntry::getName).forEach(names::add);
            }
        }
        int loaded = 0;
        for (String name : names) {
            if (!name.endsWith(".class") || name.endsWith("module-info.class") || PACKAGES.stream().noneMatch(name::startsWith)) {
                continue;
            }
            try {
                Class.forName(name.substring(0, name.length() - ".class".length()).replace('/', '.'), false, loader);
                loaded++;
            } catch (Throwable optionalDependencyMissing) {
                // a class whose optional dependency is not in the jar: never used either
            }
        }
        CommandLine root = spec.root().commandLine();
        java.io.StringWriter help = new java.io.StringWriter();
        for (String command : List.of("seal", "drill", "restore")) {
            root.getSubcommands().get(command).usage(new java.io.PrintWriter(help));
        }
        System.err.println("cds-training: loaded " + loaded + " classes");
        return 0;
    }
}
