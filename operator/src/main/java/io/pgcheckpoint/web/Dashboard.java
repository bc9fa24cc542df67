package io.pgcheckpoint.web;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The dashboard: three static files from the jar (plain HTML, CSS and JavaScript, no build chain).
 * The page calls the API with the token the person pastes; the server adds nothing to it.
 */
final class Dashboard {
    private static final Map<String, String> FILES = Map.of(
            "/", "index.html", "/index.html", "index.html", "/app.js", "app.js", "/app.css", "app.css");
    private static final Map<String, String> TYPES = Map.of(
            "index.html", "text/html; charset=utf-8", "app.js", "text/javascript; charset=utf-8", "app.css", "text/css; charset=utf-8");

    private Dashboard() {
    }

    static void serve(HttpExchange ex) throws IOException {
        try (ex) {
            String file = FILES.get(ex.getRequestURI().getPath());
            if (file == null || !(ex.getRequestMethod().equals("GET") || ex.getRequestMethod().equals("HEAD"))) {
                send(ex, 404, "text/plain; charset=utf-8", "not found: the dashboard is at /, the API under /api/v1/\n"
                        .getBytes(StandardCharsets.UTF_8));
                return;
            }
            byte[] body;
            try (InputStream in = Dashboard.class.getResourceAsStream("/dashboard/" + file)) {
                body = in.readAllBytes();
            }
            send(ex, 200, TYPES.get(file), body);
        }
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        var h = ex.getResponseHeaders();
        h.set("Content-Type", type);
        // Only this origin's own files run; the token never leaves for another origin.
        h.set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
        h.set("X-Content-Type-Options", "nosniff");
        h.set("Referrer-Policy", "no-referrer");
        h.set("Cache-Control", "no-cache");
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }
}
