import LeveeProxy
import LeveeTestSupport
import NIOCore
import NIOHTTP1
import Testing

@Suite struct ProxySemanticsTests {
    @Test func forwardsAndSetsForwardingHeadersAndDropsHopByHop() async throws {
        try await withProxy(backend: { request in
            var text = ""
            for header in request.head.headers { text += "\(header.name.lowercased()): \(header.value)\n" }
            var headers = HTTPHeaders()
            headers.add(name: "connection", value: "x-backend-private")
            headers.add(name: "x-backend-private", value: "secret")
            headers.add(name: "keep-alive", value: "timeout=5")
            headers.add(name: "x-kept", value: "yes")
            return TestResponse(headers: headers, text: text)
        }) { proxy, _ in
            let response = try await proxy.get(
                "/hello",
                headers: "Connection: keep-alive, x-private\r\nX-Private: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n"
                    + "Upgrade: websocket\r\nProxy-Connection: keep-alive\r\nX-Forwarded-For: 203.0.113.9\r\nX-Custom: kept\r\n")
            #expect(response.statusCode == 200)
            let seen = response.bodyString
            #expect(seen.contains("x-custom: kept"))
            #expect(seen.contains("x-forwarded-for: 203.0.113.9, 127.0.0.1"))
            #expect(seen.contains("x-forwarded-proto: http"))
            #expect(seen.contains("via: 1.1 levee"))
            #expect(seen.contains("host: test.local"))
            for dropped in ["x-private", "keep-alive:", "te:", "upgrade:", "proxy-connection", "connection:"] {
                #expect(!seen.contains(dropped), "\(dropped) reached the backend")
            }
            #expect(response.value("x-kept") == "yes")
            #expect(response.value("x-backend-private") == nil)
            #expect(response.value("keep-alive") == nil)
            #expect(response.value("via") == "1.1 levee")
        }
    }

    @Test func replaceModeAndHostRewrite() async throws {
        try await withProxy(backend: echoHeaders, configure: {
            $0.forwarding.xForwardedFor = .replace
            $0.routes = [RouteConfiguration(name: "default", upstream: "app", hostRewrite: "internal.svc")]
        }) { proxy, _ in
            let response = try await proxy.get("/", headers: "X-Forwarded-For: 203.0.113.9\r\n")
            #expect(response.bodyString.contains("x-forwarded-for: 127.0.0.1\n"))
            #expect(response.bodyString.contains("host: internal.svc"))
        }
    }

    @Test func bodylessPostReachesTheBackendWithZeroLength() async throws {
        try await withProxy(backend: echoHeaders) { proxy, _ in
            let client = try await proxy.connect()
            // No Content-Length and no Transfer-Encoding: a request without a body (RFC 9112 §6.3).
            try await client.send("POST /form HTTP/1.1\r\nHost: a\r\n\r\nPUT /doc HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
            let post = try await client.readResponse()
            #expect(post.bodyString.hasPrefix("POST /form\n"))
            #expect(post.bodyString.contains("content-length: 0\n"))
            #expect(!post.bodyString.contains("transfer-encoding"))
            let put = try await client.readResponse()
            #expect(put.bodyString.components(separatedBy: "content-length").count == 2, "one Content-Length field")
            // A GET stays without any length field.
            try await client.send("GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
            let get = try await client.readResponse()
            #expect(!get.bodyString.contains("content-length"))
            await client.close()
        }
    }

    @Test func keepAliveReusesOneBackendConnection() async throws {
        try await withProxy { proxy, backend in
            let client = try await proxy.connect()
            for i in 0..<5 {
                try await client.send("GET /\(i) HTTP/1.1\r\nHost: a\r\n\r\n")
                let response = try await client.readResponse()
                #expect(response.statusCode == 200)
                #expect(response.bodyString == "ok")
            }
            await client.close()
            // A second client on whichever loop: at most one upstream connection per loop.
            for i in 0..<4 {
                let response = try await proxy.get("/again\(i)")
                #expect(response.statusCode == 200)
            }
            #expect(backend.requestCount == 9)
            #expect(backend.connectionCount <= 2)
        }
    }

    @Test func routesByHostAndPrefixAndAnswers404Locally() async throws {
        try await withProxy(backend: echoHeaders, configure: {
            $0.routes = [
                RouteConfiguration(name: "api", host: "api.example", pathPrefix: "/v1/", upstream: "app")
            ]
        }) { proxy, backend in
            let client = try await proxy.connect()
            try await client.send("GET /v1/users HTTP/1.1\r\nHost: API.example:8080\r\n\r\n")
            #expect(try await client.readResponse().statusCode == 200)
            try await client.send("GET /v2/users HTTP/1.1\r\nHost: api.example\r\n\r\n")
            let missing = try await client.readResponse()
            #expect(missing.statusCode == 404)
            try await client.send("GET /v1/users HTTP/1.1\r\nHost: other.example\r\n\r\n")
            #expect(try await client.readResponse().statusCode == 404)
            await client.close()
            #expect(backend.requestCount == 1)
        }
    }

    @Test func headAnd204And304HaveNoBodyAndKeepFraming() async throws {
        try await withProxy(backend: { request in
            switch request.head.uri {
            case "/204": return TestResponse(status: .noContent)
            case "/304": return TestResponse(status: .notModified, headers: ["etag": "\"x\""])
            default: return TestResponse(text: "twelve bytes")
            }
        }) { proxy, _ in
            let client = try await proxy.connect()
            try await client.send("HEAD /page HTTP/1.1\r\nHost: a\r\n\r\n")
            let head = try await client.readResponse(headRequest: true)
            #expect(head.statusCode == 200)
            #expect(head.value("content-length") == "12")
            try await client.send("GET /204 HTTP/1.1\r\nHost: a\r\n\r\n")
            let noContent = try await client.readResponse()
            #expect(noContent.statusCode == 204)
            #expect(noContent.value("transfer-encoding") == nil)
            try await client.send("GET /304 HTTP/1.1\r\nHost: a\r\n\r\n")
            let notModified = try await client.readResponse()
            #expect(notModified.statusCode == 304)
            #expect(notModified.value("etag") == "\"x\"")
            // The connection is still framed correctly: a normal request follows.
            try await client.send("GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
            let page = try await client.readResponse()
            #expect(page.bodyString == "twelve bytes")
            await client.close()
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withProxy(backend: { request in
            if request.head.uri == "/slow" { try? await Task.sleep(for: .milliseconds(200)) }
            return TestResponse(text: "answer \(request.head.uri)")
        }) { proxy, _ in
            let client = try await proxy.connect()
            try await client.send(
                "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast1 HTTP/1.1\r\nHost: a\r\n\r\nGET /fast2 HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().bodyString == "answer /slow")
            #expect(try await client.readResponse().bodyString == "answer /fast1")
            #expect(try await client.readResponse().bodyString == "answer /fast2")
            await client.close()
        }
    }

    @Test func pipelinedBodiesAndABadRequestKeepTheirOrder() async throws {
        try await withProxy(backend: { request in
            TestResponse(text: "\(request.head.method) \(request.head.uri) \(String(buffer: request.body))")
        }) { proxy, _ in
            let client = try await proxy.connect()
            try await client.send(
                "GET /one HTTP/1.1\r\nHost: a\r\n\r\nPOST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                    + "GET /three HTTP/1.1\r\nHost: a\r\n\r\nGET /bad HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
            #expect(try await client.readResponse().bodyString == "GET /one ")
            #expect(try await client.readResponse().bodyString == "POST /two hello")
            #expect(try await client.readResponse().bodyString == "GET /three ")
            let bad = try await client.readResponse()
            #expect(bad.statusCode == 400)
            #expect(bad.value("connection") == "close")
            await client.close()
        }
    }

    @Test func http10KeepAliveAndClose() async throws {
        try await withProxy { proxy, _ in
            let client = try await proxy.connect()
            try await client.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let first = try await client.readResponse()
            #expect(first.version == "HTTP/1.0")
            #expect(first.bodyString == "ok")
            #expect(first.value("connection")?.lowercased() == "keep-alive")
            try await client.send("GET /b HTTP/1.0\r\n\r\n")
            let second = try await client.readResponse()
            #expect(second.bodyString == "ok")
            try await client.waitForClose(timeout: .seconds(5))
        }
    }

    @Test func chunkedRequestAndResponseBodiesAreByteExact() async throws {
        try await withStreamingProxy { proxy, _ in
        let client = try await proxy.connect()
        // Chunked upload of 300,000 bytes in uneven chunks.
        try await client.send("POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        var offset = 0
        for size in [1, 4095, 100_000, 65_536, 130_368] {
            try await client.send(String(size, radix: 16) + "\r\n")
            try await client.send(PatternBody.chunk(offset: offset, count: size))
            try await client.send("\r\n")
            offset += size
        }
        try await client.send("0\r\n\r\n")
        let upload = try await client.readResponse()
        #expect(upload.bodyString == "300000 \(PatternBody.sha256(length: 300_000))")
        // Chunked download.
        try await client.send("GET /bytes/777777?chunked HTTP/1.1\r\nHost: a\r\n\r\n")
        let digest = SHA256Digest()
        let download = try await client.readResponse(digest: digest)
        #expect(download.value("transfer-encoding") == "chunked")
        #expect(download.bodyLength == 777_777)
        #expect(digest.finalize() == PatternBody.sha256(length: 777_777))
        await client.close()
        }
    }

    @Test func expect100ContinueIsAnsweredBeforeTheBody() async throws {
        try await withStreamingProxy { proxy, _ in
        let client = try await proxy.connect()
        try await client.send("POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        let interim = try await client.readResponse()
        #expect(interim.statusCode == 100)
        try await client.send(PatternBody.chunk(offset: 0, count: 5000))
        let final = try await client.readResponse()
        #expect(final.statusCode == 200)
        #expect(final.bodyString == "5000 \(PatternBody.sha256(length: 5000))")
        await client.close()
        }
    }

    @Test func filterVerdictsAreCarriedOut() async throws {
        struct PathFilter: RequestFilter {
            func evaluate(_ request: RequestContext) -> FilterVerdict {
                switch request.head.uri {
                case "/deny":
                    return .respond(LocalResponse(status: .tooManyRequests, headers: ["retry-after": "3"], body: ByteBuffer(string: "slow down")))
                case "/close": return .close
                case "/later": return .forwardAfter(delay: .milliseconds(50), responseHeaders: ["x-delayed": "1"])
                default: return .forward(responseHeaders: ["ratelimit": "\"per-ip\";r=9;t=1"])
                }
            }
        }
        try await withProxy(filter: PathFilter()) { proxy, backend in
            let denied = try await proxy.get("/deny")
            #expect(denied.statusCode == 429)
            #expect(denied.value("retry-after") == "3")
            #expect(denied.bodyString == "slow down")
            let allowed = try await proxy.get("/ok")
            #expect(allowed.value("ratelimit") == "\"per-ip\";r=9;t=1")
            let delayed = try await proxy.get("/later")
            #expect(delayed.statusCode == 200)
            #expect(delayed.value("x-delayed") == "1")
            let client = try await proxy.connect()
            try await client.send("GET /close HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.waitForClose(timeout: .seconds(5)).isEmpty)
            #expect(backend.requestCount == 2)
        }
    }
}
