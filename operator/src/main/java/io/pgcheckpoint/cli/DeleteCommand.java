package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.DeleteResult;
import io.pgcheckpoint.engine.Pruner;
import io.pgcheckpoint.engine.Store;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "delete", mixinStandardHelpOptions = true,
        description = {"Remove every object (every stored version) of one checkpoint. An absent tag is not an error.",
                "If any object is under Object Lock, nothing is deleted and it fails with store.locked, naming the retain-until date."})
final class DeleteCommand extends StoreCommand implements Callable<Integer> {
    @Option(names = "--tag", required = true, description = "The checkpoint to delete.")
    String tag;

    @Override
    public Integer call() {
        try (Store s = openStore()) {
            DeleteResult r = new Pruner(s, output.progress()).delete(tag);
            output.result(r, () -> System.out.println(r.deleted()
                    ? "deleted " + s.uri(tag) + " (" + r.objects() + " stored versions)"
                    : "nothing to delete: no checkpoint '" + tag + "' in " + s.uri()));
            return 0;
        }
    }
}
