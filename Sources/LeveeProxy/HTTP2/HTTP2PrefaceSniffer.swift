import NIOCore

/// First on an h2c listener's connections: reads until it can tell whether the client opened
/// with the HTTP/2 connection preface (`PRI * HTTP/2.0…`, prior knowledge) or with an HTTP/1
/// request, builds the rest of the pipeline for that protocol, passes on what it read and
/// removes itself. Most HTTP/1 requests differ at the first or second byte; a connection that
/// says neither within `timeout` is closed (the HTTP/1 guard and its header timeout come later).
final class HTTP2PrefaceSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let timeout: TimeAmount
    /// Builds the pipeline after this handler: `true` for HTTP/2.
    private let configure: (_ http2: Bool) throws -> Void
    private var buffered: ByteBuffer?
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount, configure: @escaping (_ http2: Bool) throws -> Void) {
        self.timeout = timeout
        self.configure = configure
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { bound.value.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        if var earlier = buffered {
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        let count = min(bytes.readableBytes, Self.preface.count)
        let isPrefix = bytes.getBytes(at: bytes.readerIndex, length: count) == Array(Self.preface[..<count])
        if isPrefix && count < Self.preface.count {
            buffered = bytes  // still ambiguous: wait for more
            return
        }
        buffered = nil
        deadline?.cancel()
        deadline = nil
        do {
            try configure(isPrefix)
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(Self.wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }
}

@available(*, unavailable)
extension HTTP2PrefaceSniffer: Sendable {}
