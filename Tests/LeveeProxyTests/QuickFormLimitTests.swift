import LeveeTestSupport
import Logging
import Metrics
import Prometheus
import Testing

@testable import LeveeProxy

/// `levee serve --listen … --upstream … --limit "10/s burst 20"` end to end: the application
/// built from the same flags the command line passes, over loopback.
@Suite("serve --limit: the quick form answers 429 past the burst")
struct QuickFormLimitTests {
    @Test("--limit \"10/s burst 20\": 20 requests pass, then 429 with Retry-After and the RateLimit fields")
    func limitPastBurst() async throws {
        let backend = try await TestHTTPServer.start { _ in TestResponse(text: "ok") }
        let configuration = try ProxyConfiguration.quickForm(
            listen: ["127.0.0.1:0"], upstreams: ["http://127.0.0.1:\(backend.port)"], admin: nil, workers: 1,
            limit: "2/s burst 20")
        let registry = PrometheusCollectorRegistry()
        let app = try withMetricsFactory(PrometheusMetricsFactory(registry: registry)) {
            try LeveeApplication(source: .commandLine(configuration), registry: registry, logger: Logger(label: "test"),
                                 options: .init(handleSignals: false))
        }
        try await app.start()
        let running = Task { try await app.run() }
        defer { running.cancel() }

        // The bucket starts full: the first 20 requests pass whatever the pace.
        for _ in 0..<20 { #expect(try await httpRequest(port: app.proxyPort, path: "/").statusCode == 200) }
        // Faster than 2/s (slow enough for a loaded machine to outpace), a refusal must come within a bounded number of requests.
        var limited: RawHTTPResponse?
        for _ in 0..<200 {
            let response = try await httpRequest(port: app.proxyPort, path: "/")
            if response.statusCode == 429 { limited = response; break }
        }
        let refusal = try #require(limited)
        let retryAfter = try #require(refusal.value("retry-after").flatMap(Int.init))
        // One token comes back every 500 ms: a retry succeeds within the first second.
        #expect(retryAfter == 1)
        // A token bucket of burst 20 at 2/s: 20 units per 10-second window.
        let policy = try #require(refusal.value("ratelimit-policy"))
        #expect(policy.hasSuffix(";q=20;w=10"))
        let state = try #require(refusal.value("ratelimit"))
        #expect(state.contains(";r=0;"))
        #expect(refusal.value("content-type")?.hasPrefix("application/problem+json") == true)

        await app.triggerGracefulShutdown()
        try await running.value
        await backend.shutdown()
    }
}
