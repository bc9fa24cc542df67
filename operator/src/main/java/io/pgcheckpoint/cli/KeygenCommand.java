package io.pgcheckpoint.cli;

import io.pgcheckpoint.engine.CheckpointException;
import io.pgcheckpoint.engine.Signatures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "keygen", mixinStandardHelpOptions = true,
        description = {"Write an Ed25519 key pair for signing manifests: FILE (private, PKCS#8 PEM, mode 600) for seal --signing-key,",
                "FILE.pub (public, PEM) for --verify-key or PGCHECKPOINT_VERIFY_KEY. Existing files are never overwritten."})
final class KeygenCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The private key file; the public key goes to FILE.pub.")
    Path out;

    @Override
    public Integer call() {
        Path pub = out.resolveSibling(out.getFileName() + ".pub");
        KeyPair pair = Signatures.generate();
        if (Files.exists(pub)) {
            throw new CheckpointException("usage.keygen", pub + " already exists: keys are never overwritten; choose another --out");
        }
        try {
            Files.createFile(out, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(out, Signatures.pem(pair.getPrivate()));
            Files.writeString(pub, Signatures.pem(pair.getPublic()), java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new CheckpointException("usage.keygen", e.getFile() + " already exists: keys are never overwritten; choose another --out");
        } catch (IOException e) {
            throw new CheckpointException("usage.keygen", "cannot write the key pair to " + out + ": " + e.getMessage());
        }
        System.out.println("wrote " + out + " (private: seal --signing-key, keep it secret) and " + pub
                + " (public: --verify-key or PGCHECKPOINT_VERIFY_KEY)");
        return 0;
    }
}
