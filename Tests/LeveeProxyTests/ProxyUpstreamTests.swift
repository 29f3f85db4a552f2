import LeveeProxy
import LeveeTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@Suite struct ProxyUpstreamTests {
    /// A port on loopback where nothing listens (bound, then closed).
    static func deadPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }

    @Test func deadBackendGives502WithinTheConnectTimeout() async throws {
        let port = try await Self.deadPort()
        let proxy = try await ProxyHarness.start(backendPorts: [port]) { $0.timeouts.connect = .seconds(2) }
        let started = ContinuousClock.now
        let response = try await proxy.get("/")
        let elapsed = ContinuousClock.now - started
        #expect(response.statusCode == 502)
        #expect(response.bodyString.contains("502"))
        #expect(elapsed < .seconds(2))  // within the connect timeout (a refused connect is immediate)
        await proxy.stop()
    }

    @Test func slowBackendGives504() async throws {
        try await withProxy(backend: { _ in
            try? await Task.sleep(for: .seconds(3))
            return TestResponse(text: "late")
        }, configure: { $0.timeouts.responseHeader = .milliseconds(300) }) { proxy, _ in
            let started = ContinuousClock.now
            let response = try await proxy.get("/")
            #expect(response.statusCode == 504)
            // Well before the backend's answer at 3 s (generous: the test machine may be loaded).
            #expect(ContinuousClock.now - started < .milliseconds(2900))
        }
    }

    @Test func idempotentRequestsAreRetriedOnAnotherBackendAndTheDeadOneIsEjected() async throws {
        let dead = try await Self.deadPort()
        let live = try await TestHTTPServer.start()
        let proxy = try await ProxyHarness.start(backendPorts: [dead, live.port]) {
            $0.upstreams["app"]!.maxFailures = 1
            $0.upstreams["app"]!.maxRetries = 1
            $0.upstreams["app"]!.ejectionTime = .seconds(30)
        }
        for _ in 0..<6 {
            #expect(try await proxy.get("/").statusCode == 200)
        }
        let status = proxy.server.statusSnapshot()
        let backends = status.pools.first { $0.name == "app" }?.backends ?? []
        #expect(backends.first { $0.address == "127.0.0.1:\(dead)" }?.healthy == false)
        #expect(backends.first { $0.address == "127.0.0.1:\(live.port)" }?.healthy == true)
        // A POST is not retried: with only the dead backend admitted it would get 502, but the
        // dead one is ejected now, so it goes to the live one.
        let client = try await proxy.connect()
        try await client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
        #expect(try await client.readResponse().statusCode == 200)
        await client.close()
        await proxy.stop()
        await live.shutdown()
    }

    @Test func nonIdempotentRequestIsNotRetried() async throws {
        let dead = try await Self.deadPort()
        let live = try await TestHTTPServer.start()
        let proxy = try await ProxyHarness.start(backendPorts: [dead, live.port]) {
            $0.upstreams["app"]!.maxFailures = 5
            $0.upstreams["app"]!.maxRetries = 3
        }
        var statuses: [Int] = []
        for _ in 0..<4 {
            let client = try await proxy.connect()
            try await client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
            statuses.append(try await client.readResponse().statusCode)
            await client.close()
        }
        // Round-robin alternates per event loop; the POSTs that hit the dead backend get 502.
        #expect(statuses.contains(502))
        #expect(statuses.contains(200))
        await proxy.stop()
        await live.shutdown()
    }

    @Test func shortUpstreamBodyClosesTheClientConnection() async throws {
        // A backend that promises 100 bytes, sends 10 and closes.
        let liar = try await ScriptedBackend.start([
            "/": .init("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", thenClose: true)
        ])
        let proxy = try await ProxyHarness.start(backendPorts: [liar.port])
        let client = try await proxy.connect()
        try await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        do {
            let response = try await client.readResponse(timeout: .seconds(5))
            Issue.record("a short body must not look complete: \(response.bodyLength) bytes")
        } catch RawHTTPClientError.closedBeforeResponse {
            // Expected: the head went through, the body is cut, the connection closes.
        }
        await client.close()
        await proxy.stop()
        await liar.stop()
    }

    @Test func malformedUpstreamResponsesGive502AndTheClientConnectionCarriesOn() async throws {
        let backend = try await ScriptedBackend.start([
            "/both": .init("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
            "/folded": .init("HTTP/1.1 200 OK\r\nX-A: 1\r\n continued\r\nContent-Length: 2\r\n\r\nok"),
            "/lengths": .init("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"),
            "/chunk": .init("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n0\r\n\r\n"),
            "/good": .init("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood"),
        ])
        let proxy = try await ProxyHarness.start(backendPorts: [backend.port])
        let client = try await proxy.connect()
        for path in ["/both", "/folded", "/lengths"] {
            try await client.send("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try await client.readResponse(timeout: .seconds(5))
            #expect(response.statusCode == 502, "\(path)")
            try await client.send("GET /good HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse(timeout: .seconds(5)).bodyString == "good", "after \(path)")
        }
        // Bad framing after the head went out: the client's response cannot be completed.
        try await client.send("GET /chunk HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = try await client.waitForClose(timeout: .seconds(5))
        #expect(try await proxy.get("/good").bodyString == "good")
        await client.close()
        await proxy.stop()
        await backend.stop()
    }

    @Test func upstreamResponseFramingIsCarriedOver() async throws {
        let backend = try await ScriptedBackend.start([
            "/named": .init("HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\nX-Public: 2\r\nContent-Length: 2\r\n\r\nok"),
            "/eof": .init("HTTP/1.1 200 OK\r\nX-Kind: eof\r\n\r\nthe body ends with the connection", thenClose: true),
            "/extra": .init("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokUNASKED"),
            "/chunked": .init("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n"),
            "/early": .init("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"),
        ])
        let proxy = try await ProxyHarness.start(backendPorts: [backend.port])
        let client = try await proxy.connect()
        func get(_ path: String) async throws -> RawHTTPResponse {
            try await client.send("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n")
            return try await client.readResponse(timeout: .seconds(5))
        }
        let named = try await get("/named")
        #expect(named.value("x-secret") == nil)  // hop-by-hop: named in the backend's Connection
        #expect(named.value("x-public") == "2")
        #expect(named.value("connection") == nil)
        let connectionsBefore = backend.connections
        #expect(try await get("/extra").bodyString == "ok")  // on the kept-alive connection
        #expect(backend.connections == connectionsBefore)
        // The connection that sent bytes nobody asked for is not reused; the next one is.
        #expect(try await get("/named").statusCode == 200)
        #expect(try await get("/named").statusCode == 200)
        #expect(backend.connections == connectionsBefore + 1)
        let eof = try await get("/eof")
        #expect(eof.bodyString == "the body ends with the connection")
        #expect(eof.value("transfer-encoding") == "chunked")  // re-framed for the kept-alive client
        let chunked = try await get("/chunked")
        #expect(chunked.bodyString == "abc")
        let early = try await get("/early")
        #expect(early.statusCode == 200 && early.bodyString == "final")
        await client.close()
        await proxy.stop()
        await backend.stop()
    }

    @Test func statusAndApplySwapRoutes() async throws {
        let one = try await TestHTTPServer.start { _ in TestResponse(text: "one") }
        let two = try await TestHTTPServer.start { _ in TestResponse(text: "two") }
        let proxy = try await ProxyHarness.start(backendPorts: [one.port])
        #expect(try await proxy.get("/").bodyString == "one")
        let next = ProxyHarness.configuration(backendPorts: [two.port])
        proxy.server.apply(configuration: next, filter: AllowAllFilter())
        // The swap reaches each event loop asynchronously: poll with a deadline.
        let deadline = ContinuousClock.now + .seconds(5)
        var seen = ""
        while ContinuousClock.now < deadline {
            let a = try await proxy.get("/").bodyString
            let b = try await proxy.get("/").bodyString
            seen = a + b
            if seen == "twotwo" { break }
        }
        #expect(seen == "twotwo")
        let status = proxy.server.statusSnapshot()
        #expect(status.pools.map(\.name) == ["app"])
        #expect(status.pools[0].backends.map(\.address) == ["127.0.0.1:\(two.port)"])
        #expect(status.completedRequests >= 3)
        #expect(status.listeners == ["127.0.0.1:\(proxy.port)"])
        await proxy.stop()
        await one.shutdown()
        await two.shutdown()
    }

    @Test func gracefulShutdownLetsInFlightRequestsFinish() async throws {
        let backend = try await TestHTTPServer.start { _ in
            try? await Task.sleep(for: .milliseconds(300))
            return TestResponse(text: "finished")
        }
        let proxy = try await ProxyHarness.start(backendPorts: [backend.port])
        let client = try await proxy.connect()
        try await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        // Wait until the request is in flight, then shut down with a grace period.
        let deadline = ContinuousClock.now + .seconds(5)
        while proxy.server.statusSnapshot().inFlightRequests == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        async let stopped: Void = proxy.server.shutdown(gracePeriod: .seconds(5))
        let response = try await client.readResponse()
        #expect(response.bodyString == "finished")
        #expect(response.value("connection")?.lowercased() == "close")
        try await client.waitForClose(timeout: .seconds(5))
        await stopped
        // The listener is closed now.
        await #expect(throws: (any Error).self) { _ = try await RawHTTPClient.connect(port: proxy.port) }
        await client.close()
        await backend.shutdown()
    }
}

/// A backend that answers each request (by its path) with fixed bytes, whatever HTTP they make:
/// for tests of what the proxy does with responses NIO's encoder would never write.
final class ScriptedBackend: Sendable {
    struct Reply: Sendable {
        let bytes: String
        let thenClose: Bool
        init(_ bytes: String, thenClose: Bool = false) {
            self.bytes = bytes
            self.thenClose = thenClose
        }
    }

    private let channel: any Channel
    private let accepted: NIOLockedValueBox<Int>
    var port: Int { channel.localAddress?.port ?? 0 }
    /// Connections accepted so far.
    var connections: Int { accepted.withLockedValue { $0 } }

    static func start(_ replies: [String: Reply]) async throws -> ScriptedBackend {
        let accepted = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                accepted.withLockedValue { $0 += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedResponder(replies: replies))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedBackend(channel: channel, accepted: accepted)
    }

    private init(channel: any Channel, accepted: NIOLockedValueBox<Int>) {
        self.channel = channel
        self.accepted = accepted
    }

    func stop() async {
        try? await channel.close()
    }
}

/// Reads request heads (requests here have no body) and writes the reply for each one's path.
private final class ScriptedResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let replies: [String: ScriptedBackend.Reply]
    private var received = ""

    init(replies: [String: ScriptedBackend.Reply]) { self.replies = replies }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += String(buffer: Self.unwrapInboundIn(data))
        while let end = received.range(of: "\r\n\r\n") {
            let head = received[..<end.lowerBound]
            received = String(received[end.upperBound...])
            let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            let reply = replies[path] ?? .init("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            let written = context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: reply.bytes)))
            if reply.thenClose {
                written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                return
            }
        }
    }
}

@Suite struct ProxyBalancingTests {
    @Test func leastInFlightAvoidsTheBusyBackend() async throws {
        // The slow request is held until the test releases it (no timing guess).
        let released = NIOLockedValueBox(false)
        let handler: TestHTTPServer.Handler = { request in
            if request.head.uri == "/slow" {
                let deadline = ContinuousClock.now + .seconds(20)
                while !released.withLockedValue({ $0 }) && ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            return TestResponse(text: "done")
        }
        let a = try await TestHTTPServer.start(handler: handler)
        let b = try await TestHTTPServer.start(handler: handler)
        let proxy = try await ProxyHarness.start(backendPorts: [a.port, b.port]) {
            $0.upstreams["app"]!.balance = .leastInFlight
        }
        let slow = try await proxy.connect()
        try await slow.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        let deadline = ContinuousClock.now + .seconds(5)
        while a.requestCount + b.requestCount == 0 && proxy.server.statusSnapshot().pools[0].backends.allSatisfy({ $0.inFlight == 0 })
            && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let busy = proxy.server.statusSnapshot().pools[0].backends.first { $0.inFlight == 1 }?.address
        #expect(busy != nil)
        for _ in 0..<4 { #expect(try await proxy.get("/quick").statusCode == 200) }
        released.withLockedValue { $0 = true }
        #expect(try await slow.readResponse().statusCode == 200)
        let busyServer = busy == "127.0.0.1:\(a.port)" ? a : b
        let idleServer = busyServer === a ? b : a
        #expect(busyServer.requestCount == 1)
        #expect(idleServer.requestCount == 4)
        await slow.close()
        await proxy.stop()
        await a.shutdown()
        await b.shutdown()
    }

    @Test func roundRobinSpreadsRequests() async throws {
        let a = try await TestHTTPServer.start()
        let b = try await TestHTTPServer.start()
        let proxy = try await ProxyHarness.start(backendPorts: [a.port, b.port])
        for _ in 0..<8 { #expect(try await proxy.get("/").statusCode == 200) }
        // Cursors are per event loop; every loop alternates, so both backends get traffic.
        #expect(a.requestCount > 0 && b.requestCount > 0)
        #expect(a.requestCount + b.requestCount == 8)
        await proxy.stop()
        await a.shutdown()
        await b.shutdown()
    }

    @Test func ipv6ListenerAndBackend() async throws {
        let backend = try await TestHTTPServer.start(host: "::1", handler: echoHeaders)
        let proxy = try await ProxyHarness.start(backendPorts: []) {
            $0.listeners = [ListenerConfiguration(host: "::1", port: 0)]
            $0.upstreams["app"] = UpstreamPoolConfiguration(name: "app", backends: [BackendAddress(host: "::1", port: backend.port)])
        }
        let client = try await RawHTTPClient.connect(host: "::1", port: proxy.port)
        try await client.send("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n")
        let response = try await client.readResponse()
        #expect(response.statusCode == 200)
        #expect(response.bodyString.contains("x-forwarded-for: ::1"))
        await client.close()
        await proxy.stop()
        await backend.shutdown()
    }
}
