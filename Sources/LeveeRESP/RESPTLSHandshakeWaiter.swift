import NIOCore
import NIOTLS

/// Behind the TLS handler of a Redis connection: completes `promise` when the handshake is done
/// (the client treats the connection as up only then) or fails it with the reason the channel
/// went away first, and then steps aside.
final class RESPTLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            promise.succeed(())
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(ConnectionRefused(reason: .connectFailed("TLS: \(error)")))
        context.fireErrorCaught(error)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        promise.fail(RESPError.connectionClosed)  // ignored once the handshake succeeded
    }
}

@available(*, unavailable)
extension RESPTLSHandshakeWaiter: Sendable {}

/// The server answered but the connection cannot work as configured: Redis refused `AUTH` or
/// `SELECT`, the TLS handshake failed (certificate, name, versions) or the TLS configuration is
/// unusable. `RESPClient` fails callers with `reason` and logs it as a configuration error.
struct ConnectionRefused: Error {
    let reason: RESPError
}
