import NIOCore

/// Matches pipelined replies to their commands: RESP2 answers strictly in order, so each command
/// written appends its promise to a queue and each reply completes the oldest one.
///
/// Many commands may be in flight on one connection. A command that gets no reply within its
/// timeout fails with ``RESPError/timeout`` and the connection is closed: a late reply could
/// otherwise be matched to the wrong command, and a server that stopped answering is better
/// detected and reconnected than waited on. Error replies fail the promise with
/// ``RESPError/server(code:message:)``.
public final class RESPCommandHandler: ChannelDuplexHandler {
    public typealias InboundIn = RESPValue
    public typealias OutboundIn = RESPRequest
    public typealias OutboundOut = RESPValue

    private struct Pending {
        let promise: EventLoopPromise<RESPValue>
        let timeout: Scheduled<Void>?
    }

    private var pending = CircularBuffer<Pending>(initialCapacity: 16)
    private var closed = false

    /// A handler with no command in flight.
    public init() {}

    /// Commands written whose replies have not arrived.
    public var inFlight: Int { pending.count }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard !closed else {
            request.promise.fail(RESPError.connectionClosed)
            promise?.fail(RESPError.connectionClosed)
            return
        }
        var scheduled: Scheduled<Void>?
        if let timeout = request.timeout {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let futureResult = request.promise.futureResult
            scheduled = context.eventLoop.scheduleTask(in: timeout) {
                let (handler, context) = loopBound.value
                handler.timedOut(futureResult, context: context)
            }
        }
        pending.append(Pending(promise: request.promise, timeout: scheduled))
        context.write(wrapOutboundOut(request.command), promise: promise)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        guard let head = pending.popFirst() else {
            failAll(context: context, error: .protocolViolation("reply without a command: \(value)"))
            return
        }
        head.timeout?.cancel()
        if case .error(let text) = value {
            head.promise.fail(RESPError.fromReply(text))
        } else {
            head.promise.succeed(value)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        closed = true
        drain(error: .connectionClosed)
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let respError = (error as? RESPError) ?? .protocolViolation("\(error)")
        failAll(context: context, error: respError)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        closed = true
        drain(error: .connectionClosed)
    }

    /// The command whose reply is `future` took too long: fail it and everything behind it.
    private func timedOut(_ future: EventLoopFuture<RESPValue>, context: ChannelHandlerContext) {
        guard pending.contains(where: { $0.promise.futureResult === future }) else { return }
        failAll(context: context, error: .timeout, first: future)
    }

    private func failAll(context: ChannelHandlerContext, error: RESPError, first: EventLoopFuture<RESPValue>? = nil) {
        guard !closed else { return }
        closed = true
        while let entry = pending.popFirst() {
            entry.timeout?.cancel()
            // The command that timed out gets `.timeout`; the ones queued behind it lost their connection.
            let reason: RESPError = (first == nil || entry.promise.futureResult === first) ? error : .connectionClosed
            entry.promise.fail(reason)
        }
        context.close(promise: nil)
    }

    private func drain(error: RESPError) {
        while let entry = pending.popFirst() {
            entry.timeout?.cancel()
            entry.promise.fail(error)
        }
    }
}

@available(*, unavailable)
extension RESPCommandHandler: Sendable {}
