import CoreMetrics
import LeveeLoad
import LeveeProxy
import LeveeTestSupport
import MetricsTestKit
import NIOHTTP1
import Testing

/// `levee load --http2` against the TLS proxy (ALPN h2 + http/1.1) in front of a plain HTTP/1.1 backend.
@Suite("levee load over HTTP/2", .serialized)
struct HTTP2LoadTests {
    /// The proxy counts connections that negotiated HTTP/2 in `levee_http2_connections_total`.
    static let http2Connections = "levee_http2_connections_total"

    /// Call inside `withMetricsFactory` to see the proxy's counters.
    private static func withTLSProxy(
        filter: any RequestFilter = AllowAllFilter(), http2: Bool = true,
        backend: @escaping TestHTTPServer.Handler = { _ in TestResponse(text: "ok") },
        _ body: (ProxyHarness, TestHTTPServer) async throws -> Void
    ) async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        var tls = ListenerTLSConfiguration.test(try certificates.make("localhost"))
        tls.http2 = http2
        try await withProxy(backend: backend, filter: filter, configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, tls: tls)]
        }, body)
    }

    @Test("closed loop with several streams per connection, open loop and source addresses all arrive as HTTP/2")
    func http2Scenario() async throws {
        let filter = RecordingFilter()
        let metrics = TestMetrics()
        try await withMetricsFactory(metrics) { try await Self.withTLSProxy(filter: filter) { proxy, backend in
            var closed = TrafficClass(name: "closed")
            closed.connections = 2
            closed.paths = ["/h2"]
            closed.maxRequests = 300
            closed.methods = ["GET", "POST"]
            closed.body = "payload"
            var open = TrafficClass(name: "open")
            open.rate = 200
            open.connections = 2
            open.paths = ["/h2"]
            open.maxRequests = 40
            var sourced = TrafficClass(name: "sourced")
            sourced.connections = 2
            sourced.paths = ["/h2"]
            sourced.maxRequests = 20
            sourced.source = try SourceAddressRange("127.0.7.1-127.0.7.2")
            var forwarded = TrafficClass(name: "forwarded")
            forwarded.paths = ["/h2"]
            forwarded.maxRequests = 10
            forwarded.source = try SourceAddressRange("127.0.9.1-127.0.9.3")
            forwarded.identity = .forwardedFor
            let scenario = Scenario(
                target: try LoadTarget(url: "https://localhost:\(proxy.port)/h2"), duration: 30_000_000_000, threads: 2,
                timeout: 5_000_000_000, classes: [closed, open, sourced, forwarded], http2: true, streams: 4)
            let report = try await LoadEngine(scenario: scenario).run()

            #expect(report.protocolName == "h2")
            #expect(report.text.contains("protocol: h2"))
            #expect(report.jsonString.contains("\"protocol\" : \"h2\""))
            for (name, count) in [("closed", 300), ("open", 40), ("sourced", 20), ("forwarded", 10)] {
                let c = try #require(report.classes[name])
                #expect(c.requests == count, "\(name)")
                #expect(c.completed == count, "\(name)")
                #expect(c.status["200"] == count, "\(name)")
                #expect(c.errors.total == 0, "\(name)")
            }
            #expect(report.total.requests == 370)
            #expect(backend.requestCount == 370)

            // The proxy negotiated HTTP/2 on the seven client connections (and on the engine's pre-flight
            // handshake) and saw every request with its method, path and body length.
            #expect(metrics.counterTotal(label: Self.http2Connections) >= 8)
            let seen = filter.requests
            #expect(seen.count == 370)
            #expect(seen.allSatisfy { $0.head.uri == "/h2" && $0.isTLS })
            let posts = seen.filter { $0.head.method == .POST }
            #expect(posts.count == 150)
            #expect(posts.allSatisfy { $0.head.headers.first(name: "content-length") == "7" })
            // The sourced class's connections were bound to its addresses.
            let sources = Set(seen.compactMap { $0.socketAddress?.ipAddress })
            #expect(sources.isSuperset(of: ["127.0.7.1", "127.0.7.2"]))
            // The x-forwarded-for class's one client announced its address in a header.
            #expect(seen.filter { $0.head.headers.first(name: "x-forwarded-for") == "127.0.9.1" }.count == 10)
        } }
    }

    @Test("a server that does not select h2 stops the run with a clear error before any request")
    func refusesWithoutH2() async throws {
        let filter = RecordingFilter()
        let metrics = TestMetrics()
        try await withMetricsFactory(metrics) { try await Self.withTLSProxy(filter: filter, http2: false) { proxy, backend in
            var c = TrafficClass(name: "c")
            c.maxRequests = 10
            let scenario = Scenario(
                target: try LoadTarget(url: "https://127.0.0.1:\(proxy.port)/"), duration: 10_000_000_000, threads: 1,
                classes: [c], http2: true)
            do {
                _ = try await LoadEngine(scenario: scenario).run()
                Issue.record("the run should have been refused")
            } catch let error as LoadError {
                #expect(error == .http2NotNegotiated("127.0.0.1:\(proxy.port)", nil))
                #expect(error.description.contains("did not select HTTP/2"))
            }
            #expect(backend.requestCount == 0)
            #expect(filter.requests.isEmpty)

            // The same listener still serves an HTTP/1.1 run over TLS.
            let plain = Scenario(target: scenario.target, duration: 10_000_000_000, threads: 1, classes: [c])
            let report = try await LoadEngine(scenario: plain).run()
            #expect(report.protocolName == "http/1.1")
            #expect(report.classes["c"]?.status["200"] == 10)
            #expect(metrics.counterTotal(label: Self.http2Connections) == 0)
        } }
    }

    @Test("requests that outlive the timeout are reset and counted as timeouts; the other streams complete")
    func timeoutsOnStreams() async throws {
        let slowBackend: TestHTTPServer.Handler = { request in
            // Far beyond the run's 1.5 s timeout; the sleep ends early when the backend shuts down.
            if request.head.uri == "/slow" { try? await Task.sleep(for: .seconds(8)) }
            return TestResponse(text: "ok")
        }
        try await Self.withTLSProxy(backend: slowBackend) { proxy, _ in
            var c = TrafficClass(name: "mixed")
            c.paths = ["/fast", "/slow"]
            c.maxRequests = 8
            let scenario = Scenario(
                target: try LoadTarget(url: "https://localhost:\(proxy.port)/"), duration: 30_000_000_000, threads: 1,
                timeout: 1_500_000_000, classes: [c], http2: true, streams: 4)
            let report = try await LoadEngine(scenario: scenario).run()
            let r = try #require(report.classes["mixed"])
            #expect(r.requests == 8)
            #expect(r.status["200"] == 4)
            #expect(r.errors.timeout == 4)
            #expect(r.completed + r.errors.total == r.requests)
        }
    }

    @Test("nothing listening: every request is a refused error and the run still ends")
    func refusedConnections() async throws {
        var c = TrafficClass(name: "c")
        c.maxRequests = 6
        c.connections = 2
        let scenario = Scenario(
            target: try LoadTarget(url: "https://127.0.0.1:1/"), duration: 20_000_000_000, threads: 1, classes: [c],
            http2: true, streams: 3)
        let report = try await LoadEngine(scenario: scenario).run()
        #expect(report.classes["c"]?.requests == 6)
        #expect(report.classes["c"]?.errors.refused == 6)
        #expect(report.classes["c"]?.completed == 0)
    }
}
