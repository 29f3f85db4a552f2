import NIOCore
import NIOHTTP1
import NIOPosix

/// A loopback backend that streams instead of buffering, for large-body tests:
/// - `GET /bytes/N` answers N bytes of `PatternBody` with `Content-Length`
///   (`/bytes/N?chunked` uses chunked encoding), written only while the socket is writable;
/// - any other request consumes its body into SHA-256 and answers `"<length> <sha256>"`.
public final class StreamingTestBackend: Sendable {
    public let port: Int
    private let channel: any Channel

    public static func start(host: String = "127.0.0.1", group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> StreamingTestBackend {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(StreamingBackendHandler())
                }
            }
            .bind(host: host, port: 0).get()
        return StreamingTestBackend(channel: channel)
    }

    private init(channel: any Channel) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    public func shutdown() async {
        try? await channel.close()
    }
}

private final class StreamingBackendHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?
    private var digest: SHA256Digest?
    private var received = 0
    private var remaining = 0
    private var sent = 0
    private var streaming = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let h):
            head = h
            digest = SHA256Digest()
            received = 0
        case .body(let body):
            digest?.update(body)
            received += body.readableBytes
        case .end:
            guard let head else { return }
            if head.method == .GET, head.uri.hasPrefix("/bytes/") {
                let spec = head.uri.dropFirst("/bytes/".count)
                let parts = spec.split(separator: "?")
                remaining = Int(parts.first ?? "0") ?? 0
                sent = 0
                var headers = HTTPHeaders()
                if parts.count > 1 && parts[1] == "chunked" {
                    headers.add(name: "transfer-encoding", value: "chunked")
                } else {
                    headers.add(name: "content-length", value: String(remaining))
                }
                context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                streaming = true
                pump(context: context)
            } else {
                let text = "\(received) \(digest?.finalize() ?? "")"
                digest = nil
                var headers = HTTPHeaders()
                headers.add(name: "content-length", value: String(text.utf8.count))
                context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.write(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if streaming && context.channel.isWritable { pump(context: context) }
        context.fireChannelWritabilityChanged()
    }

    private func pump(context: ChannelHandlerContext) {
        while remaining > 0 && context.channel.isWritable {
            let n = min(remaining, 64 * 1024)
            let chunk = PatternBody.chunk(offset: sent, count: n, allocator: context.channel.allocator)
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
            sent += n
            remaining -= n
        }
        if remaining == 0 {
            streaming = false
            context.write(Self.wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.flush()
    }
}

@available(*, unavailable)
extension StreamingBackendHandler: Sendable {}
