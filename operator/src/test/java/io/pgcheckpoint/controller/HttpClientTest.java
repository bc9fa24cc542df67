package io.pgcheckpoint.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.client.http.HttpClient;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/**
 * One fabric8 HTTP client on the classpath, the JDK's, as JOSDK chooses: with two, fabric8 logs
 * that "one was chosen randomly" and the operator and the CLI may run on either.
 */
class HttpClientTest {
    @Test
    void exactlyOneHttpClientImplementationIsOnTheClasspath() {
        List<String> factories = ServiceLoader.load(HttpClient.Factory.class).stream()
                .map(p -> p.type().getName()).sorted().toList();
        assertEquals(List.of("io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory"), factories);
    }
}
