@testable import LeveeProxy
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@Suite struct ProxyUnitTests {
    @Test func passiveHealthEjectsThenLetsOneProbeThrough() {
        let backend = Backend(address: BackendAddress(host: "127.0.0.1", port: 1))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(backend.admits(now: start, maxFailures: 2, ejectionTime: .seconds(10)))
        backend.recordFailure(now: start, maxFailures: 2, ejectionTime: .seconds(10))
        #expect(backend.admits(now: start, maxFailures: 2, ejectionTime: .seconds(10)))
        backend.recordFailure(now: start, maxFailures: 2, ejectionTime: .seconds(10))
        #expect(!backend.isHealthy(maxFailures: 2))
        #expect(!backend.admits(now: start + .seconds(9), maxFailures: 2, ejectionTime: .seconds(10)))
        // Rest over: exactly one probe is admitted.
        let later = start + .seconds(11)
        #expect(backend.admits(now: later, maxFailures: 2, ejectionTime: .seconds(10)))
        #expect(!backend.admits(now: later, maxFailures: 2, ejectionTime: .seconds(10)))
        backend.recordSuccess()
        #expect(backend.isHealthy(maxFailures: 2))
        #expect(backend.admits(now: later, maxFailures: 2, ejectionTime: .seconds(10)))
    }

    @Test func routerMatchesHostCaseInsensitivelyWithoutPortAndFirstPrefixWins() {
        let pool = UpstreamPool(
            configuration: UpstreamPoolConfiguration(name: "p", backends: [BackendAddress(host: "127.0.0.1", port: 1)]),
            previous: [:])
        let router = Router(entries: [
            Router.Entry(route: RouteConfiguration(name: "api", host: "api.example", pathPrefix: "/v1", upstream: "p"), host: "api.example", pool: pool),
            Router.Entry(route: RouteConfiguration(name: "all", pathPrefix: "/", upstream: "p"), host: nil, pool: pool),
        ])
        #expect(router.match(host: "API.Example:443", path: "/v1/x")?.route.name == "api")
        #expect(router.match(host: "other", path: "/v1/x")?.route.name == "all")
        #expect(router.match(host: nil, path: "/v1")?.route.name == "all")
        #expect(Router.normalize("[::1]:8080") == "[::1]")
    }

    @Test func fieldsAreWrittenAsOneWireLineEach() {
        var buffer = ByteBufferAllocator().buffer(capacity: 4)  // grows inside writeField
        buffer.writeField(name: "X-Long-Field-Name-Beyond-Small", value: String(repeating: "v", count: 300))
        buffer.writeField(name: "Empty", value: "")
        buffer.writeField(name: "Caf\u{E9}", value: "na\u{EF}ve \u{1F600}")
        let expected = "X-Long-Field-Name-Beyond-Small: " + String(repeating: "v", count: 300) + "\r\n"
            + "Empty: \r\n" + "Caf\u{E9}: na\u{EF}ve \u{1F600}\r\n"
        #expect(buffer.readString(length: buffer.readableBytes) == expected)
        #expect(buffer.readableBytes == 0)
    }

    /// `ResponseOutput` reuses its last buffer for the next head: a response still queued in the
    /// channel (the client not reading) must not be overwritten, and reuse after it was written
    /// must still frame each response whole.
    @Test func reusedResponseBuffersNeverOverwriteQueuedResponses() throws {
        final class Sink: ChannelInboundHandler {
            typealias InboundIn = Never
        }
        let channel = EmbeddedChannel(handler: Sink())
        let context = try channel.pipeline.syncOperations.context(handlerType: Sink.self)
        var output = ResponseOutput(mode: .bytes)
        func respond(_ text: String) {
            var body = ByteBufferAllocator().buffer(capacity: 16)
            body.writeString(text)
            let response = LocalResponse(status: .ok, headers: ["Content-Type": "text/plain"], body: body)
            _ = output.local(response, version: .http1_1, requestMethod: .GET, connection: nil, context: context)
            output.end(nil, context: context, promise: nil)
        }
        func expected(_ text: String) -> String {
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: \(text.utf8.count)\r\n\r\n\(text)"
        }
        // Three responses while the channel holds every one unread (the spare is never unique).
        for text in ["first", "second, longer", "3"] { respond(text) }
        for text in ["first", "second, longer", "3"] {
            var written = try #require(try channel.readOutbound(as: ByteBuffer.self))
            #expect(written.readString(length: written.readableBytes) == expected(text))
        }
        // Read out each time (the spare is reused in place).
        for text in ["fourth", "5", "sixth and last"] {
            respond(text)
            var written = try #require(try channel.readOutbound(as: ByteBuffer.self))
            #expect(written.readString(length: written.readableBytes) == expected(text))
        }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    @Test func fieldNamesCompareIgnoringASCIICaseOnly() {
        #expect("Content-Length".isFieldName("content-length"))
        #expect("HOST".isFieldName("host"))
        #expect(!"Hosts".isFieldName("host"))
        #expect(!"hosT ".isFieldName("host"))
        #expect(!"X-Forwarded-Fo".isFieldName("x-forwarded-for"))
        #expect(!"\u{C9}".isFieldName("\u{E9}"))  // no folding beyond ASCII
        #expect("Keep-Alive".equalsFieldName("keep-alive"))
        #expect(!"Keep-Alive".equalsFieldName("keep-alivf"))
    }

    /// The request fields sent upstream (the data path's rewrite) leave out the hop-by-hop ones.
    @Test func hopByHopRemovalIncludesFieldsNamedInConnection() {
        let client: HTTPHeaders = [
            "Connection": "close, X-Secret", "X-Secret": "1", "Keep-Alive": "5", "TE": "trailers",
            "Trailer": "x", "Transfer-Encoding": "chunked", "Upgrade": "h2c", "Proxy-Connection": "keep-alive",
            "X-Kept": "1",
        ]
        var headers = HTTPHeaders()
        _ = client.writeUpstreamRequestFields(
            into: &headers, chunked: false, emptyBody: true, method: .GET, hostRewrite: nil, fallbackHost: nil,
            clientIP: nil, xForwardedFor: .off, xForwardedProto: false, scheme: "http", via: nil)
        #expect(headers.map(\.name) == ["X-Kept"])
    }

    @Test func validationFraming() throws {
        let limits = LimitsConfiguration()
        func head(_ fields: [(String, String)], version: HTTPVersion = .http1_1, method: HTTPMethod = .POST) -> HTTPRequestHead {
            HTTPRequestHead(version: version, method: method, uri: "/", headers: HTTPHeaders([("Host", "a")] + fields))
        }
        #expect(try RequestValidation.validate(head([]), limits: limits).get() == .none)
        #expect(try RequestValidation.validate(head([("Content-Length", "10")]), limits: limits).get() == .contentLength(10))
        #expect(try RequestValidation.validate(head([("Transfer-Encoding", "gzip, chunked")]), limits: limits).get() == .chunked)
        for bad in [
            [("Content-Length", "1"), ("Transfer-Encoding", "chunked")],
            [("Content-Length", "1"), ("Content-Length", "1")],
            [("Content-Length", "-1")],
            [("Transfer-Encoding", "chunked, gzip")],
        ] {
            #expect(throws: RequestValidation.Failure.self) { try RequestValidation.validate(head(bad), limits: limits).get() }
        }
        #expect(throws: RequestValidation.Failure.self) {
            try RequestValidation.validate(head([("Transfer-Encoding", "chunked")], version: .http1_0), limits: limits).get()
        }
        #expect(throws: RequestValidation.Failure.self) {
            try RequestValidation.validate(head([], method: .CONNECT), limits: limits).get()
        }
    }

    /// The pipelines run without NIO's outbound validators, so what the proxy adds itself is
    /// checked where it comes from: the configuration refuses a `via` or `host_rewrite` that
    /// could split the head, and the runtime leaves such values out if validation was bypassed.
    @Test func unsendableConfiguredFieldsAreRefusedAndNeverSent() {
        var configuration = ProxyConfiguration(listeners: [ListenerConfiguration(host: "127.0.0.1", port: 0)], routes: [])
        configuration.upstreams["app"] = UpstreamPoolConfiguration(name: "app", backends: [BackendAddress(host: "127.0.0.1", port: 1)])
        configuration.routes = [RouteConfiguration(name: "r", upstream: "app", hostRewrite: "evil\r\nX-Injected: 1")]
        configuration.forwarding.via = "levee\r\nX-Injected: 1"
        let fields = configuration.validationProblems().map(\.field)
        #expect(fields.contains("route[0].host_rewrite"))
        #expect(fields.contains("forwarding.via"))

        let runtime = ProxyRuntime(configuration: configuration, filter: AllowAllFilter(), previous: nil)
        #expect(runtime.viaValue == nil)
        let entry = runtime.router.match(host: nil, path: "/")
        #expect(entry?.hostRewrite == nil)
        #expect(entry?.fallbackHost == "127.0.0.1:1")

        configuration.routes[0].hostRewrite = "backend.internal:8080"
        configuration.forwarding.via = "levee"
        #expect(configuration.validationProblems().isEmpty)
        let valid = ProxyRuntime(configuration: configuration, filter: AllowAllFilter(), previous: nil)
        #expect(valid.viaValue == "1.1 levee")
        #expect(valid.router.match(host: nil, path: "/")?.hostRewrite == "backend.internal:8080")
    }

    @Test func runtimeFieldsThatCannotBeSentAreDropped() {
        let good = HTTPHeaders([("RateLimit-Remaining", "9"), ("X-Note", "a\tb")])
        #expect(good.sendableFields() == good)
        let bad = HTTPHeaders([("RateLimit-Remaining", "9"), ("X-Bad", "a\r\nSet-Cookie: x=1"), ("Bad Name", "v"), ("X-Nul", "a\u{0}")])
        let sent = bad.sendableFields()
        #expect(sent.count == 1)
        #expect(sent.first(name: "ratelimit-remaining") == "9")
    }
}
