import LeveeLoad
import LeveeProxy
import LeveeTestSupport
import Testing

/// `levee load` against an `https://` target: the TLS proxy in front of a plain backend.
@Suite("levee load over TLS", .serialized)
struct TLSLoadTests {
    @Test("an https:// scenario completes every request through TLS termination, reused and new connections")
    func httpsScenario() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("localhost")
        try await withProxy(configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, tls: .test(pair))]
        }) { proxy, backend in
            let target = try LoadTarget(url: "https://localhost:\(proxy.port)/")
            #expect(target.tls && target.hostHeader == "localhost:\(proxy.port)")
            var kept = TrafficClass(name: "kept")
            kept.connections = 4
            kept.maxRequests = 400
            var fresh = TrafficClass(name: "fresh")
            fresh.connections = 2
            fresh.maxRequests = 40
            fresh.newConnectionPerRequest = true
            let scenario = Scenario(target: target, duration: 20_000_000_000, threads: 2, timeout: 5_000_000_000, classes: [kept, fresh])
            let report = try await LoadEngine(scenario: scenario).run()
            #expect(report.classes["kept"]?.requests == 400)
            #expect(report.classes["kept"]?.status["200"] == 400)
            #expect(report.classes["fresh"]?.status["200"] == 40)
            #expect(report.total.errors.total == 0)
            #expect(backend.requestCount == 440)
        }
    }

    @Test("https:// URLs parse with port 443 by default; PROXY identities are refused with TLS")
    func targets() throws {
        let target = try LoadTarget(url: "https://example.test/path")
        #expect(target.tls && target.port == 443 && target.hostHeader == "example.test" && target.path == "/path")
        #expect(try LoadTarget(url: "http://example.test/").tls == false)
        var c = TrafficClass(name: "lb")
        c.identity = .proxyV2
        c.source = try SourceAddressRange("127.0.0.0/24")
        let scenario = Scenario(target: try LoadTarget(url: "https://127.0.0.1:8443/"), duration: 1_000_000_000, classes: [c])
        #expect(throws: LoadError.self) { try scenario.validate() }
    }
}
