import NIOCore
import NIOHTTP1

/// NIO's HTTP/1 response decoder, without its watch on outbound request parts: the upstream
/// pipeline carries requests as bytes (see `UpstreamHandler`), so the handler tells the decoder
/// about each request itself (the parser needs the method: a response to HEAD has no body).
final class UpstreamResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPClientResponsePart

    private let decoder = HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)

    /// Call once for every request written, in order.
    func expectResponse(to head: HTTPRequestHead) {
        decoder.write(data: .head(head))
    }

    func decoderAdded(context: ChannelHandlerContext) { decoder.decoderAdded(context: context) }
    func decoderRemoved(context: ChannelHandlerContext) { decoder.decoderRemoved(context: context) }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try decoder.decode(context: context, buffer: &buffer)
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decoder.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
    }
}

@available(*, unavailable)
extension UpstreamResponseDecoder: Sendable {}
