package io.pgcheckpoint.web;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.fabric8.kubernetes.client.internal.CertUtils;
import io.pgcheckpoint.engine.DaemonThreads;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * The API's own port: HTTPS when a certificate and key (PEM, e.g. a kubernetes.io/tls Secret
 * mounted as files) are given, plain HTTP otherwise, for use behind an Ingress that terminates TLS.
 * The dashboard's page is served at {@code /}. A request that waits for its checkpoint holds a
 * thread, so the pool is bounded.
 */
public final class ApiHttp implements AutoCloseable {
    static final int MAX_CONCURRENT = 128;
    private final HttpServer server;

    public ApiHttp(int port, CheckpointApi api, Path tlsCert, Path tlsKey) throws IOException {
        InetSocketAddress address = new InetSocketAddress(port);
        if (tlsCert != null) {
            HttpsServer https = HttpsServer.create(address, 0);
            https.setHttpsConfigurator(new HttpsConfigurator(sslContext(tlsCert, tlsKey)));
            server = https;
        } else {
            server = HttpServer.create(address, 0);
        }
        server.setExecutor(new ThreadPoolExecutor(0, MAX_CONCURRENT, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
                DaemonThreads.named("api")));
        server.createContext("/api/", api::handle);
        server.createContext("/", Dashboard::serve);
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static SSLContext sslContext(Path cert, Path key) throws IOException {
        if (key == null) {
            throw new IOException("--api-tls-cert needs --api-tls-key");
        }
        try {
            char[] password = "pgcheckpoint".toCharArray(); // in memory only
            KeyStore store = null;
            GeneralSecurityException last = null;
            for (String algorithm : new String[] {"RSA", "EC"}) {
                try (var certIn = java.nio.file.Files.newInputStream(cert); var keyIn = java.nio.file.Files.newInputStream(key)) {
                    store = CertUtils.createKeyStore(certIn, keyIn, algorithm, password, null, password);
                    break;
                } catch (GeneralSecurityException e) {
                    last = e;
                }
            }
            if (store == null) {
                throw last;
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IOException("cannot use the API's TLS certificate " + cert + " and key " + key + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
