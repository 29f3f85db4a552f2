import Foundation
import NIOCore
import NIOHTTP1
import LeveeTestSupport
import Testing

@testable import LeveeProxy

/// HTTP/2 clients (ALPN h2) through the proxy to HTTP/1.1 backends; stream limits; rapid reset.
@Suite("HTTP/2 from clients", .serialized)
struct HTTP2ProxyTests {
    private static func withTLSProxy(
        filter: any RequestFilter = AllowAllFilter(), tls adjust: (inout ListenerTLSConfiguration) -> Void = { _ in },
        backend: @escaping TestHTTPServer.Handler = echoHeaders,
        _ body: (ProxyHarness, TestHTTPServer) async throws -> Void
    ) async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        var tls = ListenerTLSConfiguration.test(try certificates.make("localhost"))
        adjust(&tls)
        try await withProxy(backend: backend, filter: filter, configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, tls: tls)]
        }, body)
    }

    @Test("GET and POST on HTTP/2 streams reach an HTTP/1.1 backend, concurrently on one connection")
    func proxiesStreams() async throws {
        let echoBody: TestHTTPServer.Handler = { request in
            var text = "\(request.head.method) \(request.head.uri) HTTP/\(request.head.version.major).\(request.head.version.minor)\n"
            text += "host: \(request.head.headers.first(name: "host") ?? "-")\n"
            text += "proto: \(request.head.headers.first(name: "x-forwarded-proto") ?? "-")\n"
            text += "body: \(String(buffer: request.body))"
            return TestResponse(text: text)
        }
        try await Self.withTLSProxy(backend: echoBody) { proxy, backend in
            let connection = try await TLSTestConnection.connect(
                port: proxy.port, serverName: "localhost", alpn: ["h2", "http/1.1"], mode: .http2)
            #expect(connection.negotiatedProtocol == "h2")
            let client = try await connection.http2()
            let get = try await client.request(.GET, "/items?page=2", host: "localhost")
            #expect(get.status == 200)
            #expect(get.body.contains("GET /items?page=2 HTTP/1.1"))
            #expect(get.body.contains("host: localhost"))
            #expect(get.body.contains("proto: https"))
            let post = try await client.request(.POST, "/submit", body: "hello over h2")
            #expect(post.status == 200)
            #expect(post.body.contains("POST /submit HTTP/1.1"))
            #expect(post.body.hasSuffix("body: hello over h2"))

            let results = try await withThrowingTaskGroup(of: TestHTTPResult.self) { group in
                for i in 0..<20 { group.addTask { try await client.request(.GET, "/c/\(i)") } }
                return try await group.reduce(into: [TestHTTPResult]()) { $0.append($1) }
            }
            #expect(results.count == 20)
            #expect(results.allSatisfy { $0.status == 200 })
            #expect(Set(results.map { $0.body.split(separator: "\n")[0] }).count == 20)
            #expect(backend.requestCount == 22)
            await connection.close()
        }
    }

    @Test("a stream whose backend is slow gets 504 at the response-header timeout; the connection's other streams are served")
    func streamDeadlines() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let tls = ListenerTLSConfiguration.test(try certificates.make("localhost"))
        let slowBackend: TestHTTPServer.Handler = { request in
            // Answers after 2 s: a 504 can only be the 300 ms response-header deadline (the
            // request deadline, 10 s, is later than the answer).
            if request.head.uri == "/slow" { try? await Task.sleep(for: .seconds(2)) }
            return TestResponse(text: "answer \(request.head.uri)")
        }
        try await withProxy(backend: slowBackend, configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, tls: tls)]
            configuration.timeouts.responseHeader = .milliseconds(300)
            configuration.timeouts.request = .seconds(10)
        }) { proxy, _ in
            let connection = try await TLSTestConnection.connect(port: proxy.port, alpn: ["h2"], mode: .http2)
            let client = try await connection.http2()
            let results = try await withThrowingTaskGroup(of: (String, TestHTTPResult).self) { group in
                group.addTask { ("/slow", try await client.request(.GET, "/slow")) }
                for i in 0..<5 { group.addTask { ("/fast/\(i)", try await client.request(.GET, "/fast/\(i)")) } }
                return try await group.reduce(into: [String: TestHTTPResult]()) { $0[$1.0] = $1.1 }
            }
            #expect(results["/slow"]?.status == 504)
            for i in 0..<5 {
                #expect(results["/fast/\(i)"]?.status == 200)
                #expect(results["/fast/\(i)"]?.body == "answer /fast/\(i)")
            }
            // The connection still serves new streams after the timeout.
            let after = try await client.request(.GET, "/fast/after")
            #expect(after.status == 200)
            await connection.close()
        }
    }

    @Test("curl --http2 gets its answer over HTTP/2")
    func curlHTTP2() async throws {
        try await Self.withTLSProxy(backend: { _ in TestResponse(text: "ok") }) { proxy, backend in
            let output = try runCurl(["--http2", "-w", " %{http_code} %{http_version}", "https://127.0.0.1:\(proxy.port)/x"])
            #expect(output == "ok 200 2")
            #expect(backend.requestCount == 1)
        }
    }

    @Test("an h2c listener serves HTTP/2 with prior knowledge and HTTP/1.1 on the same port")
    func cleartextHTTP2() async throws {
        let echo: TestHTTPServer.Handler = { request in
            TestResponse(text: "\(request.head.method) \(request.head.uri) proto=\(request.head.headers.first(name: "x-forwarded-proto") ?? "-") body=\(String(buffer: request.body))")
        }
        try await withProxy(backend: echo, configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, h2c: true)]
            configuration.limits.headerTimeout = .milliseconds(400)
        }) { proxy, backend in
            let url = "http://127.0.0.1:\(proxy.port)"
            let h2 = try runCurl(["--http2-prior-knowledge", "-w", " %{http_code} %{http_version}", "\(url)/a?x=1"])
            #expect(h2 == "GET /a?x=1 proto=http body= 200 2")  // cleartext: X-Forwarded-Proto is http
            let post = try runCurl(["--http2-prior-knowledge", "-d", "over h2c", "-w", " %{http_version}", "\(url)/p"])
            #expect(post == "POST /p proto=http body=over h2c 2")
            let h1 = try runCurl(["-w", " %{http_code} %{http_version}", "\(url)/b"])
            #expect(h1 == "GET /b proto=http body= 200 1.1")
            #expect(backend.requestCount == 3)

            // A client that starts like the preface and stops is closed at the header deadline;
            // one that merely begins with `P` is HTTP/1 (a 400 for this bad request line).
            let stalled = try await proxy.connect()
            try await stalled.send("PRI * HTTP/2")
            let started = ContinuousClock.now
            _ = try await stalled.waitForClose(timeout: .seconds(5))
            #expect(ContinuousClock.now - started < .seconds(4))
            await stalled.close()
            let other = try await proxy.connect()
            try await other.send("PUT-IT-BACK / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await other.waitForClose(timeout: .seconds(5)).hasPrefix("HTTP/1.1 400"))
            await other.close()
        }
    }

    @Test("the server advertises max_concurrent_streams from the configuration")
    func advertisesStreamLimit() async throws {
        try await Self.withTLSProxy(tls: { $0.maxConcurrentStreams = 7 }) { proxy, _ in
            let connection = try await TLSTestConnection.connect(port: proxy.port, alpn: ["h2"], mode: .raw)
            let collector = try await connection.collectBytes()
            try await connection.channel.writeAndFlush(ByteBuffer(bytes: RawHTTP2.preface + RawHTTP2.emptySettings)).get()
            let deadline = ContinuousClock.now + .seconds(10)
            var advertised: UInt32?
            while advertised == nil, ContinuousClock.now < deadline {
                for frame in RawHTTP2.frames(collector.received) where frame.type == 0x4 && frame.flags & 0x1 == 0 {
                    for offset in stride(from: 0, to: frame.payload.count - 5, by: 6) {
                        let id = UInt16(frame.payload[offset]) << 8 | UInt16(frame.payload[offset + 1])
                        if id == 0x3 { advertised = RawHTTP2.uint32(frame.payload, at: offset + 2) }
                    }
                }
                if advertised == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(advertised == 7)
            await connection.close()
        }
    }

    @Test("a rapid-reset flood gets GOAWAY and is closed and charged; another HTTP/2 client keeps being served")
    func rapidReset() async throws {
        let filter = RecordingFilter()
        try await Self.withTLSProxy(filter: filter, tls: { $0.maxResetsPerSecond = 20 }, backend: { _ in TestResponse(text: "ok") }) { proxy, _ in
            // A well-behaved client, connected before the flood and used during and after it.
            let goodConnection = try await TLSTestConnection.connect(port: proxy.port, alpn: ["h2"], mode: .http2)
            let good = try await goodConnection.http2()
            #expect(try await good.request(.GET, "/before").status == 200)

            let attacker = try await TLSTestConnection.connect(port: proxy.port, alpn: ["h2"], mode: .raw)
            let collector = try await attacker.collectBytes()
            var bytes = RawHTTP2.preface + RawHTTP2.emptySettings
            for i in 0..<500 {
                let stream = UInt32(2 * i + 1)
                bytes += RawHTTP2.getHeaders(stream: stream) + RawHTTP2.reset(stream: stream)
            }
            // Bounded: 500 HEADERS+RST_STREAM pairs in one burst, far past 20 resets per second.
            attacker.channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
            try await withDeadline(collector.closed.futureResult)

            let frames = RawHTTP2.frames(collector.received)
            let goAway = try #require(frames.first { $0.type == 0x7 })
            #expect(RawHTTP2.uint32(goAway.payload, at: 4) == 0xb)  // ENHANCE_YOUR_CALM
            #expect(filter.abuseReports == ["HTTP/2 rapid reset"])

            #expect(try await good.request(.GET, "/after").status == 200)
            await goodConnection.close()
            // A new HTTP/2 connection is served too.
            let fresh = try await TLSTestConnection.connect(port: proxy.port, alpn: ["h2"], mode: .http2)
            #expect(try await fresh.http2().request(.GET, "/fresh").status == 200)
            await fresh.close()
        }
    }

    @Test("the rapid-reset charge makes the flood filter ban the client after its strikes")
    func rapidResetChargesFloodFilter() throws {
        var configuration = FilterConfiguration()
        configuration.bans.enabled = true
        let filter = FloodFilter(configuration: configuration)
        let attacker = try SocketAddress(ipAddress: "198.51.100.7", port: 5000)
        for _ in 0..<50 where filter.activeBans().isEmpty {
            filter.connectionAbused(socketAddress: attacker, reason: "HTTP/2 rapid reset")
        }
        let ban = try #require(filter.activeBans().first)
        #expect(ban.reason == "HTTP/2 rapid reset")
        #expect(filter.evaluate(filterRequest(peer: "198.51.100.7")).status == 403)
        #expect(filter.evaluate(filterRequest(peer: "198.51.100.8")).isForward)
    }
}
