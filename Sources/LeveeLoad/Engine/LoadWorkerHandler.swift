import NIOCore

/// The thin channel handler of a load connection: it hands bytes and closes to its ``LoadWorker``.
/// The generation number lets the worker ignore events from a connection it has already dropped.
final class LoadWorkerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let worker: LoadWorker
    let generation: Int

    init(worker: LoadWorker, generation: Int) {
        self.worker = worker
        self.generation = generation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        worker.read(&buffer, generation: generation)
    }

    func channelInactive(context: ChannelHandlerContext) {
        worker.inactive(generation: generation)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension LoadWorkerHandler: Sendable {}
