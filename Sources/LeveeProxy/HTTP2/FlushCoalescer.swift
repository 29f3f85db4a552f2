import NIOCore

/// Sits between TLS and NIOHTTP2 on an HTTP/2 connection and turns the flushes of one event-loop
/// tick into one. Every stream that ends a response flushes the whole connection, and through
/// TLS each flush is a record and a `write` syscall; responses of several streams that complete
/// in the same tick (their upstream replies came in one epoll batch) now leave in one write.
/// The flush runs as a task of the same loop iteration (after its I/O events), so nothing waits
/// for a timer. A close first flushes what is pending.
final class FlushCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = Any
    typealias OutboundOut = Any

    private var flushPending = false

    func flush(context: ChannelHandlerContext) {
        guard !flushPending else { return }
        flushPending = true
        context.eventLoop.assumeIsolated().execute {
            self.flushNow(context: context)
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        flushNow(context: context)
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        flushNow(context: context)
    }

    private func flushNow(context: ChannelHandlerContext) {
        guard flushPending else { return }
        flushPending = false
        context.flush()
    }
}

@available(*, unavailable)
extension FlushCoalescer: Sendable {}
