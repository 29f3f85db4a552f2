import NIOCore
import NIOHTTP1

/// On each HTTP/2 stream, between `HTTP2FramePayloadToHTTP1ServerCodec` and the proxy handler:
/// presents the request as HTTP/1.1 (the codec marks it 2.0), so that validation, keep-alive
/// and framing rules treat it as one request on a persistent connection. Everything else passes.
final class HTTP2StreamRequestAdapter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    init() {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = Self.unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        head.version = .http1_1
        context.fireChannelRead(Self.wrapInboundOut(.head(head)))
    }
}

@available(*, unavailable)
extension HTTP2StreamRequestAdapter: Sendable {}
