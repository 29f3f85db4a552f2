import NIOCore
import NIOTLS

/// Behind the TLS handler: waits for the handshake, then builds the rest of the pipeline for the
/// protocol ALPN chose (`h2` → HTTP/2, anything else → HTTP/1.1) and removes itself. A handshake
/// that fails or does not finish within `handshakeTimeout` closes the connection.
final class TLSProtocolSelector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let handshakeTimeout: TimeAmount
    private let info: TLSConnectionInfo
    private let metrics: TLSMetrics
    /// Builds the pipeline after this handler for the negotiated protocol (nil: none negotiated).
    private let configure: (String?) throws -> Void
    private var deadline: Scheduled<Void>?
    private var selected = false

    init(
        handshakeTimeout: TimeAmount, info: TLSConnectionInfo, metrics: TLSMetrics,
        configure: @escaping (String?) throws -> Void
    ) {
        self.handshakeTimeout = handshakeTimeout
        self.info = info
        self.metrics = metrics
        self.configure = configure
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) {
            bound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard !selected, let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = tlsEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        selected = true
        deadline?.cancel()
        deadline = nil
        info.negotiatedProtocol = negotiated
        metrics.handshakes.increment()
        do {
            try configure(negotiated)
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Application data only follows the handshake event, after which this handler is gone.
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !selected { metrics.handshakeFailures.increment() }
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension TLSProtocolSelector: Sendable {}
