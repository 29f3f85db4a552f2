import Foundation
import Levee
import NIOCore
import LeveeTestSupport
import Testing

@testable import LeveeProxy

/// The JA4 of a terminated TLS connection reaches the filter and rules can block a list of JA4s.
@Suite("TLS fingerprints in rules", .serialized)
struct TLSFingerprintTests {
    @Test("RequestContext.ja4 is the JA4 of the ClientHello the client really sent")
    func ja4ReachesRequestContext() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("localhost")
        let filter = RecordingFilter()
        try await withProxy(filter: filter, configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, tls: .test(pair))]
        }) { proxy, _ in
            let connection = try await TLSTestConnection.connect(port: proxy.port, serverName: "localhost", alpn: ["http/1.1"])
            #expect(try await connection.http1(.GET, "/").status == 200)
            await connection.close()
            let hello = try #require(try ClientHello.parse(records: connection.clientHello))
            let expected = JA4Fingerprint(hello).description
            #expect(expected.hasPrefix("t13d"))
            #expect(expected.dropFirst(8).hasPrefix("h1"))
            let request = try #require(filter.requests.first)
            #expect(request.isTLS)
            #expect(request.ja4 == expected)

            // HTTP/2 streams carry the connection's JA4 too (ALPN h2 changes the `a` part).
            let h2 = try await TLSTestConnection.connect(port: proxy.port, serverName: "localhost", alpn: ["h2", "http/1.1"], mode: .http2)
            let client = try await h2.http2()
            #expect(try await client.request(.GET, "/a").status == 200)
            #expect(try await client.request(.GET, "/b").status == 200)
            await h2.close()
            let h2Expected = JA4Fingerprint(try #require(try ClientHello.parse(records: h2.clientHello))).description
            #expect(h2Expected.dropFirst(8).hasPrefix("h2"))
            #expect(filter.requests.dropFirst().map(\.ja4) == [h2Expected, h2Expected])
        }
    }

    @Test("a rule blocking a JA4 list answers 403 to that client only")
    func blockListedJA4() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("localhost")
        // Learn the JA4 of an ALPN http/1.1 NIOSSL client, then block exactly that value.
        let probe = RecordingFilter()
        var blocked = ""
        try await withProxy(filter: probe, configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, tls: .test(pair))]
        }) { proxy, _ in
            let connection = try await TLSTestConnection.connect(port: proxy.port, serverName: "localhost", alpn: ["http/1.1"])
            _ = try await connection.http1(.GET, "/")
            await connection.close()
            blocked = try #require(probe.requests.first?.ja4)
        }
        let text = """
            [[rule]]
            name = "bad-bots"
            action = "block"
            [rule.match]
            ja4 = ["\(blocked)"]

            [upstream.app]
            backends = ["127.0.0.1:9"]

            [[route]]
            name = "all"
            upstream = "app"
            """
        let configuration = try ProxyConfiguration.parse(text, file: "t.toml")
        let filter = FloodFilter(configuration: configuration.filter)
        try await withProxy(filter: filter, configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, tls: .test(pair))]
        }) { proxy, backend in
            let listed = try await TLSTestConnection.connect(port: proxy.port, serverName: "localhost", alpn: ["http/1.1"])
            #expect(try await listed.http1(.GET, "/").status == 403)
            await listed.close()
            // No ALPN: another JA4 (`00` instead of `h1`), not on the list.
            let other = try await TLSTestConnection.connect(port: proxy.port, serverName: "localhost")
            #expect(try await other.http1(.GET, "/").status == 200)
            await other.close()
            #expect(backend.requestCount == 1)
        }
    }

    @Test("the top talkers show the JA4 fingerprints each client used, in the statistics and their JSON")
    func topTalkersShowJA4() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("localhost")
        let configuration = try ProxyConfiguration.parse(
            """
            [upstream.app]
            backends = ["127.0.0.1:9"]
            [[route]]
            name = "all"
            upstream = "app"
            """, file: "t.toml")
        let filter = FloodFilter(configuration: configuration.filter)
        try await withProxy(filter: filter, configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, tls: .test(pair))]
        }) { proxy, _ in
            var expected: Set<String> = []
            for alpn in [["http/1.1"], [], ["http/1.1"]] {
                let connection = try await TLSTestConnection.connect(port: proxy.port, serverName: "localhost", alpn: alpn)
                #expect(try await connection.http1(.GET, "/").status == 200)
                await connection.close()
                expected.insert(JA4Fingerprint(try #require(try ClientHello.parse(records: connection.clientHello))).description)
            }
            #expect(expected.count == 2)
            let top = try #require(filter.topTalkers(5).first)
            #expect(top.client == "127.0.0.1")
            #expect(top.requests == 3)
            #expect(top.ja4 == expected.sorted())
            let json = filter.statistics(topTalkers: 5).json
            #expect(json.contains("\"ja4\":[\"\(expected.sorted()[0])\",\"\(expected.sorted()[1])\"]"))
            filter.resetTopTalkers()
            #expect(filter.topTalkers(5).isEmpty)
        }
    }

    @Test("fingerprint memory is bounded: a key seen again after its generation rolled over is still shown")
    func talkerFingerprintsBounded() {
        let table = TalkerFingerprints(capacity: 4, stripes: 2, maxPerKey: 2)
        let heavy = LimiterKey(1)
        table.record(heavy, ja4: "a", stripe: 0)
        for i in 10..<30 {
            table.record(LimiterKey(UInt64(i)), ja4: "x", stripe: 0)
            table.record(heavy, ja4: "b", stripe: 0)
            table.record(heavy, ja4: "c", stripe: 1)
        }
        // At most two per key, kept across generations; the stripes are merged.
        #expect(table.fingerprints(of: heavy) == ["a", "b"])
        // Old light keys fell out with their generation.
        #expect(table.fingerprints(of: LimiterKey(10)).isEmpty)
    }

    @Test("rule match: a JA4 list matches only listed fingerprints and never plain HTTP")
    func ruleMatch() {
        let match = RuleMatch(ja4: ["t13d1516h2_8daaf6152771_e5627efa2ab1"])
        var request = filterRequest()
        #expect(!match.matches(RequestFacts(request: request, address: nil)))
        request.isTLS = true
        request.ja4 = "t13d1516h2_8daaf6152771_e5627efa2ab1"
        #expect(match.matches(RequestFacts(request: request, address: nil)))
        request.ja4 = "t13d1516h2_8daaf6152771_000000000000"
        #expect(!match.matches(RequestFacts(request: request, address: nil)))
    }

    @Test("a malformed JA4 in a rule is refused with its field and line")
    func malformedJA4() {
        let text = """
            [[rule]]
            name = "bad-bots"
            action = "block"
            [rule.match]
            ja4 = ["t13d1516h2_nothex"]
            """
        #expect(throws: ConfigurationErrors.self) { try ProxyConfiguration.parse(text, file: "t.toml") }
        do {
            _ = try ProxyConfiguration.parse(text, file: "t.toml")
        } catch {
            let first = error.errors.first
            #expect(first?.field.hasSuffix("ja4") == true)
            #expect(first?.line == 5)
            #expect(first?.message.contains("not a JA4 fingerprint") == true)
        }
    }
}
