import NIOCore

/// Reads a PROXY protocol v1/v2 header at the start of a connection, fires it as a
/// `ProxyProtocolHeader` user inbound event, passes every following byte on unchanged, and
/// removes itself. A malformed header is an error (`ProxyProtocolError`) and closes the
/// connection. Whether the announced address is believed is the filter's decision (trusted hops only).
///
/// Use as `ByteToMessageHandler(ProxyProtocolDecoder())`, first in the pipeline.
public struct ProxyProtocolDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    private enum State { case header, passthrough }
    private var state = State.header
    private let parser = ProxyProtocolParser()

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        switch state {
        case .header:
            let header: ProxyProtocolHeader?
            do {
                header = try parser.parse(&buffer)
            } catch {
                // ByteToMessageHandler fires the thrown error; the connection must not carry on.
                context.close(promise: nil)
                throw error
            }
            guard let header else { return .needMoreData }
            state = .passthrough
            context.fireUserInboundEventTriggered(header)
            if buffer.readableBytes > 0 { context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: buffer.readableBytes)!)) }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return .needMoreData
        case .passthrough:
            if buffer.readableBytes > 0 { context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: buffer.readableBytes)!)) }
            return .needMoreData
        }
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        switch state {
        case .header:
            // EOF before a complete header: nothing to pass on.
            if seenEOF, buffer.readableBytes > 0 { throw ProxyProtocolError.truncated }
            return .needMoreData
        case .passthrough:
            if buffer.readableBytes > 0 { context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: buffer.readableBytes)!)) }
            return .needMoreData
        }
    }
}
