package io.pgcheckpoint.engine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A TCP relay in front of a plain-HTTP server that keeps every byte the client sent, so a test
 * can read the requests' heads as they went over the wire (e.g. the encryption headers of every
 * S3 write, which a server that ignores them cannot show).
 */
public final class RecordingProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int targetPort;
    private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
    private final List<Socket> sockets = new ArrayList<>();

    public RecordingProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread accept = new Thread(this::accept, "recording-proxy");
        accept.setDaemon(true);
        accept.start();
    }

    public String endpoint() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                synchronized (sockets) {
                    sockets.add(client);
                    sockets.add(upstream);
                }
                pump(client.getInputStream(), upstream.getOutputStream(), true);
                pump(upstream.getInputStream(), client.getOutputStream(), false);
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pump(InputStream in, OutputStream out, boolean record) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[64 * 1024];
            try (in; out) {
                int n;
                while ((n = in.read(buffer)) > 0) {
                    if (record) {
                        synchronized (sent) {
                            sent.write(buffer, 0, n);
                        }
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException ignored) {
                // the other side closed
            }
        }, "recording-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    /** One request's line and headers (names lower-cased). */
    public record Request(String line, Map<String, String> headers) {
    }

    /** The heads of the requests sent so far, found by their request lines in the recorded bytes. */
    public List<Request> requests() {
        String text;
        synchronized (sent) {
            text = sent.toString(StandardCharsets.ISO_8859_1);
        }
        List<Request> requests = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^(GET|PUT|POST|HEAD|DELETE) \\S+ HTTP/1\\.1\\r\\n").matcher(text);
        while (m.find()) {
            int end = text.indexOf("\r\n\r\n", m.start());
            String[] lines = text.substring(m.start(), end < 0 ? text.length() : end).split("\r\n");
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
                }
            }
            requests.add(new Request(lines[0], headers));
        }
        return requests;
    }

    @Override
    public void close() throws IOException {
        server.close();
        synchronized (sockets) {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }
}
