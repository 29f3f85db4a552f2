import LeveeProxy
import LeveeTestSupport
import NIOCore
import Testing

@Suite struct ProxyHardeningTests {
    /// Each request must get 400 and a closed connection, and never reach the backend.
    @Test(arguments: [
        ("both lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("differing lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
        ("repeated equal lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
        ("length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello"),
        ("signed length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello"),
        ("bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        ("chunk longer than announced", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n"),
        ("transfer-encoding not chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nhello"),
        ("obfuscated transfer-encoding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
        ("space before colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
        ("two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        ("missing host", "GET / HTTP/1.1\r\n\r\n"),
    ])
    func smugglingShapesGet400AndClose(_ name: String, _ request: String) async throws {
        try await withProxy { proxy, backend in
            let client = try await proxy.connect()
            try await client.send(request)
            let response = try await client.readResponse()
            #expect(response.statusCode == 400, "\(name)")
            #expect(response.value("connection")?.lowercased() == "close", "\(name)")
            try await client.waitForClose(timeout: .seconds(5))
            #expect(backend.requestCount == 0, "\(name) reached the backend")
        }
    }

    @Test func oversizedHeadsAreRefused() async throws {
        try await withProxy(configure: {
            $0.limits.maxRequestLineBytes = 256
            $0.limits.maxHeaderBytes = 1024
            $0.limits.maxHeaderCount = 10
        }) { proxy, backend in
            let longURI = try await proxy.get("/" + String(repeating: "a", count: 400))
            #expect(longURI.statusCode == 414 || longURI.statusCode == 431)
            let manyHeaders = try await proxy.get("/", headers: (0..<20).map { "X-H\($0): v\r\n" }.joined())
            #expect(manyHeaders.statusCode == 431)
            let bigHeader = try await proxy.get("/", headers: "X-Big: \(String(repeating: "b", count: 2000))\r\n")
            #expect(bigHeader.statusCode == 431)
            #expect(backend.requestCount == 0)
            #expect(try await proxy.get("/").statusCode == 200)
        }
    }

    @Test func bodyOverTheRouteLimitGets413() async throws {
        try await withProxy(configure: {
            $0.routes = [RouteConfiguration(name: "small", upstream: "app", maxBodyBytes: 100)]
        }) { proxy, backend in
            let client = try await proxy.connect()
            try await client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n")
            #expect(try await client.readResponse().statusCode == 413)
            await client.close()
            let chunked = try await proxy.connect()
            try await chunked.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            try await chunked.send("c8\r\n" + String(repeating: "x", count: 200) + "\r\n0\r\n\r\n")
            #expect(try await chunked.readResponse().statusCode == 413)
            await chunked.close()
            #expect(backend.requestCount == 0)
        }
    }

    @Test func slowlorisIsClosedAtItsHeaderDeadlineWhileOthersAreServed() async throws {
        try await withProxy(configure: { $0.limits.headerTimeout = .milliseconds(400) }) { proxy, _ in
            let slow = try await proxy.connect()
            let started = ContinuousClock.now
            try await slow.send("GET / HTTP/1.1\r\nHost: a\r\n")
            try await slow.send("X-Slow: 1\r\n")
            // Another client is served normally meanwhile.
            #expect(try await proxy.get("/").statusCode == 200)
            let received = try await slow.waitForClose(timeout: .seconds(5))
            let elapsed = ContinuousClock.now - started
            #expect(received.hasPrefix("HTTP/1.1 408"))
            #expect(elapsed >= .milliseconds(390))
            #expect(elapsed < .seconds(4))  // generous: the machine may be loaded
            await slow.close()
        }
    }

    @Test func idleKeepAliveConnectionIsClosed() async throws {
        try await withProxy(configure: { $0.timeouts.idle = .milliseconds(300) }) { proxy, _ in
            let client = try await proxy.connect()
            try await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().statusCode == 200)
            #expect(try await client.waitForClose(timeout: .seconds(5)).isEmpty)
        }
    }

    @Test func slowBodyIsCutOff() async throws {
        try await withProxy(configure: { $0.limits.minBodyBytesPerSecond = 1000 }) { proxy, backend in
            let client = try await proxy.connect()
            try await client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n")
            try await client.send("x")
            // Nothing more: after the grace second, less than 1000 B/s closes the connection.
            try await client.waitForClose(timeout: .seconds(6))
            #expect(backend.requestCount == 0)
        }
    }

    @Test func perAddressConnectionCap() async throws {
        try await withProxy(configure: { $0.limits.maxConnectionsPerAddress = 2 }) { proxy, _ in
            let first = try await proxy.connect()
            let second = try await proxy.connect()
            try await first.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await first.readResponse().statusCode == 200)
            try await second.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await second.readResponse().statusCode == 200)
            let third = try await proxy.connect()
            #expect(try await third.waitForClose(timeout: .seconds(5)).isEmpty)
            await first.close()
            // Once a slot is free again, a new connection is served (the close is seen
            // asynchronously by the proxy, so poll with a deadline).
            let deadline = ContinuousClock.now + .seconds(5)
            var served = false
            while !served && ContinuousClock.now < deadline {
                let fourth = try await proxy.connect()
                try? await fourth.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                served = (try? await fourth.readResponse(timeout: .seconds(2)))?.statusCode == 200
                await fourth.close()
            }
            #expect(served)
            await second.close()
        }
    }
}
