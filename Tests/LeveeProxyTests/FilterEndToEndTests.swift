import Levee
import LeveeLoad
import LeveeTestSupport
import NIOCore
import NIOPosix
import Testing

@testable import LeveeProxy

/// A one-request HTTP client bound to a chosen loopback source address (any of 127.0.0.0/8 on
/// Linux), so that one test can play several clients. Sends `Connection: close` and reads to EOF.
struct SourceBoundClient {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: String
        func value(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    static func request(
        port: Int, from source: String, path: String = "/", headers: [(String, String)] = [], preamble: ByteBuffer? = nil
    ) async throws -> Response {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var out = preamble ?? ByteBuffer()
            var text = "GET \(path) HTTP/1.1\r\nHost: test.local\r\nConnection: close\r\n"
            for (n, v) in headers { text += "\(n): \(v)\r\n" }
            out.writeString(text + "\r\n")
            try await outbound.write(out)
            var received = ByteBuffer()
            // Bounded: the proxy closes after answering (Connection: close); the test times out otherwise.
            for try await var chunk in inbound { received.writeBuffer(&chunk) }
            let raw = String(buffer: received)
            guard let split = raw.firstRange(of: "\r\n\r\n") else { throw ProxyProtocolError.truncated }
            let lines = raw[..<split.lowerBound].split(separator: "\r\n")
            let status = Int(lines[0].split(separator: " ")[1]) ?? 0
            let fields = lines.dropFirst().compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), String(line[line.index(after: colon)...].trimmingASCIISpaces()))
            }
            return Response(status: status, headers: fields, body: String(raw[split.upperBound...]))
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct FilterEndToEndTests {
    private func withFilteredProxy(
        _ configuration: FilterConfiguration, clock: any LimiterClock = MonotonicClock(),
        configure: (inout ProxyConfiguration) -> Void = { _ in },
        _ body: (ProxyHarness, FloodFilter) async throws -> Void
    ) async throws {
        let filter = FloodFilter(configuration: configuration, clock: clock)
        try await withProxy(filter: filter, configure: configure) { proxy, _ in try await body(proxy, filter) }
    }

    @Test func clientOverQuotaGets429WhileAnotherIsServed() async throws {
        // A manual clock: the bucket cannot refill between requests, however slow the machine.
        let clock = ManualClock(start: 1_000_000_000)
        let configuration = FilterConfiguration(rules: [FilterRule(name: "per-ip", quota: try Quota(parsing: "1/s burst 2"))])
        try await withFilteredProxy(configuration, clock: clock) { proxy, filter in
            for _ in 0..<2 {
                #expect(try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.2").status == 200)
            }
            let limited = try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.2", headers: [("Accept", "application/json")])
            #expect(limited.status == 429)
            #expect(limited.value("Retry-After") == "1")
            #expect(limited.value("RateLimit-Policy") == "\"per-ip\";q=2;w=2")
            #expect(limited.value("RateLimit") == "\"per-ip\";r=0;t=2")
            #expect(limited.value("Content-Type") == "application/problem+json")
            #expect(limited.body.contains("\"status\":429"))
            // Another address is served meanwhile.
            #expect(try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.3").status == 200)
            clock.advance(by: .seconds(1))
            #expect(try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.2").status == 200)
            #expect(filter.statistics().rule("per-ip")?[.limited] == 1)
        }
    }

    @Test func forwardedForFromUntrustedAddressIsKeyedBySocket() async throws {
        let clock = ManualClock(start: 1_000_000_000)
        var configuration = FilterConfiguration(rules: [FilterRule(name: "per-ip", quota: try Quota(parsing: "1/min burst 1"))])
        configuration.trustedProxies = [CIDR("127.0.0.10")!]
        try await withFilteredProxy(configuration, clock: clock) { proxy, filter in
            let a = try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.4", headers: [("X-Forwarded-For", "203.0.113.1")])
            let b = try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.4", headers: [("X-Forwarded-For", "203.0.113.2")])
            #expect(a.status == 200 && b.status == 429)
            // From the trusted hop, each forwarded client has its own budget.
            for client in ["198.51.100.1", "198.51.100.2"] {
                let r = try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.10", headers: [("X-Forwarded-For", client)])
                #expect(r.status == 200)
            }
            #expect(filter.statistics().untrustedForwarding == 2)
        }
    }

    @Test func proxyProtocolV2FromTrustedHopIsBelieved() async throws {
        let clock = ManualClock(start: 1_000_000_000)
        var configuration = FilterConfiguration(rules: [FilterRule(name: "per-ip", quota: try Quota(parsing: "1/min burst 1"))])
        configuration.trustedProxies = [CIDR("127.0.0.10")!]
        func header(_ source: [UInt8]) -> ByteBuffer {
            var b = ByteBuffer(bytes: ProxyProtocolParser.v2Signature)
            b.writeBytes([0x21, 0x11, 0x00, 0x0C])
            b.writeBytes(source + [127, 0, 0, 1, 0x30, 0x39, 0x00, 0x50])
            return b
        }
        try await withFilteredProxy(configuration, clock: clock, configure: { $0.listeners[0].proxyProtocol = true }) { proxy, filter in
            let first = try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.10", preamble: header([203, 0, 113, 5]))
            let again = try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.10", preamble: header([203, 0, 113, 5]))
            let other = try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.10", preamble: header([203, 0, 113, 6]))
            #expect(first.status == 200 && again.status == 429 && other.status == 200)
            #expect(filter.topTalkers().first?.client == "203.0.113.5")
        }
    }

    /// `levee load` announcing IPv6 clients in PROXY v2 headers: a rule keyed on the /64 gives
    /// a botnet inside one /64 one quota, while the same number of clients spread one per /64
    /// each get their own.
    @Test func ipv6ClientsAnnouncedByTheLoadGeneratorAreLimitedPerSlash64() async throws {
        var configuration = FilterConfiguration(rules: [
            FilterRule(name: "per-64", key: RuleKey([.subnet]), quota: try Quota(parsing: "1/min burst 5")),
        ])
        configuration.trustedProxies = [CIDR("127.0.0.1")!]
        configuration.bans.enabled = false
        try await withFilteredProxy(configuration, configure: { $0.listeners[0].proxyProtocol = true }) { proxy, filter in
            var packed = TrafficClass(name: "one-64")
            packed.identity = .proxyV2
            packed.announce = try AnnouncedAddressRange("2001:db8:a::/64")
            packed.connections = 4
            packed.newConnectionPerRequest = true
            packed.maxRequests = 20
            var spread = TrafficClass(name: "many-64")
            spread.identity = .proxyV2
            spread.announce = try AnnouncedAddressRange("2001:db8:b::/48", per: 64)
            spread.connections = 4
            spread.newConnectionPerRequest = true
            spread.maxRequests = 20
            let scenario = Scenario(
                target: try LoadTarget(url: "http://127.0.0.1:\(proxy.port)/"), duration: 30_000_000_000, threads: 1,
                timeout: 5_000_000_000, classes: [packed, spread])
            let report = try await LoadEngine(scenario: scenario).run()
            let one = try #require(report.classes["one-64"])
            let many = try #require(report.classes["many-64"])
            #expect(one.requests == 20 && many.requests == 20)
            #expect(one.status["200"] == 5 && one.status["429"] == 15, "\(one.status)")
            #expect(many.status["200"] == 20, "\(many.status)")
            // The filter saw the announced addresses, not the socket's 127.0.0.1.
            let talkers = Set(filter.topTalkers(100).map(\.client))
            #expect(talkers.contains("2001:db8:a::1") && talkers.contains("2001:db8:b:13::1"), "\(talkers)")
            #expect(!talkers.contains("127.0.0.1"))
        }
    }

    @Test func challengeRoundTripOverHTTP() async throws {
        var configuration = FilterConfiguration(rules: [
            FilterRule(name: "gate", match: RuleMatch(classes: [.unknown, .suspicious]), quota: nil, action: .challenge(fallback: .reject))
        ])
        configuration.challenge.difficulty = 8
        try await withFilteredProxy(configuration) { proxy, filter in
            let browser = ("Accept", "text/html,*/*;q=0.8")
            let page = try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.20", path: "/private?x=1", headers: [browser])
            #expect(page.status == 403 && page.value("Content-Type") == "text/html; charset=utf-8")
            let start = try #require(page.body.firstRange(of: "const token = \""))
            let rest = page.body[start.upperBound...]
            let token = String(rest[..<rest.firstIndex(of: "\"")!])
            let nonce = try #require(ChallengeAuthority.solve(token: token, difficulty: 8))
            let verified = try await SourceBoundClient.request(
                port: proxy.port, from: "127.0.0.21", path: "/.levee/challenge/verify?c=\(token)&n=\(nonce)&r=%2Fprivate%3Fx%3D1")
            #expect(verified.status == 303 && verified.value("Location") == "/private?x=1")
            let setCookie = try #require(verified.value("Set-Cookie"))
            let cookie = String(setCookie[..<setCookie.firstIndex(of: ";")!])
            let through = try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.20", path: "/private?x=1", headers: [browser, ("Cookie", cookie)])
            #expect(through.status == 200 && through.body == "ok")
            // No JavaScript, no cookie: the fallback.
            let api = try await SourceBoundClient.request(port: proxy.port, from: "127.0.0.22", headers: [("Accept", "application/json")])
            #expect(api.status == 429)
            #expect(filter.statistics().challengesPassed == 1)
        }
    }
}
