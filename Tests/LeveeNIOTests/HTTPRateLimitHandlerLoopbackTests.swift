import Levee
import LeveeNIO
import LeveeTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// The application of the loopback server: 200 "hello" for every request, after its end.
final class HelloHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private var keepAlive = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let body = ByteBuffer(string: "hello")
            var headers: HTTPHeaders = ["Content-Length": String(body.readableBytes)]
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

@available(*, unavailable)
extension HelloHandler: Sendable {}

@Suite("HTTPRateLimitHandler in a NIO server on loopback")
struct HTTPRateLimitHandlerLoopbackTests {
    /// A NIO HTTP/1.1 server on 127.0.0.1 with the handler between the HTTP codec and the application.
    static func startServer(limiter: HTTPRateLimiter, addFields: Bool = false) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPRateLimitHandler(limiter: limiter, addFieldsToAllowedResponses: addFields))
                    try channel.pipeline.syncOperations.addHandler(HelloHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    @Test("a client over quota gets 429 on its kept-alive connection, pipelined, while another address is served")
    func overQuotaOnLoopback() async throws {
        let clock = ManualClock()
        let limiter = HTTPRateLimiter(Quota(rate: 2, period: .seconds(60), burst: 2), clock: clock)
        let server = try await Self.startServer(limiter: limiter, addFields: true)
        let port = try #require(server.localAddress?.port)

        // Four pipelined requests from 127.0.0.1: two admitted, a POST with a body denied (its
        // body swallowed), then a GET denied too, all answered in order on the same connection.
        let first = try await LoopbackHTTPClient.exchange([
            .init(), .init(),
            .init(.POST, "/upload", body: String(repeating: "x", count: 10_000)),
            .init(),
        ], port: port, from: "127.0.0.1")
        #expect(first.map(\.head.status) == [.ok, .ok, .tooManyRequests, .tooManyRequests])
        #expect(first[0].body == "hello")
        #expect(first[0].head.headers["RateLimit"] == ["\"per-client\";r=1;t=30"])
        #expect(first[1].head.headers["RateLimit"] == ["\"per-client\";r=0;t=60"])
        let denied = first[2].head.headers
        #expect(denied["Retry-After"] == ["30"])
        #expect(denied["RateLimit-Policy"] == ["\"per-client\";q=2;w=60"])
        #expect(denied["RateLimit"] == ["\"per-client\";r=0;t=60"])
        #expect(first[2].body.contains("\"retry_after\":30"))

        // Another client address is served.
        let second = try await LoopbackHTTPClient.exchange([.init()], port: port, from: "127.0.0.2")
        #expect(second.map(\.head.status) == [.ok])
        #expect(second.first?.body == "hello")

        // 30 s later the first client has one token again.
        clock.advance(by: .seconds(30))
        let later = try await LoopbackHTTPClient.exchange([.init(), .init()], port: port, from: "127.0.0.1")
        #expect(later.map(\.head.status) == [.ok, .tooManyRequests])
        #expect(limiter.counts == HTTPRateLimiter.Counts(allowed: 4, limited: 3, unkeyed: 0))
        try await server.close()
    }
}
