import NIOCore

/// First handler of a client connection, in front of the HTTP decoder, on raw bytes. It defends
/// against slow clients:
/// - idle keep-alive: no byte of a next request within `timeouts.idle` → close;
/// - slowloris: a request head not complete within `limits.headerTimeout` of its first byte →
///   `408` and close;
/// - slow body: while a request body is being read (and the proxy is not itself holding reads
///   back for back-pressure), fewer than `limits.minBodyBytesPerSecond` bytes in a second after
///   the first one → close.
/// The HTTP handler tells it where each request is (`headReceived`, `bodyFinished`,
/// `readyForNextRequest`) and when it holds reads back.
final class ConnectionGuardHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State {
        /// Between requests, no byte of the next one yet.
        case idle
        /// Some bytes of a request head have arrived.
        case readingHead
        /// Head decoded; the body (if any) is being read.
        case readingBody
        /// The request is fully read; waiting for the response to finish.
        case waitingForResponse
    }

    private let limits: LimitsConfiguration
    private let idleTimeout: TimeAmount
    private var state = State.idle
    private var timer: Scheduled<Void>?
    private var rateTimer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// Bytes received since the last body-rate tick, whether reads were held back in it, and
    /// how many ticks have passed (the first one is a grace second).
    private var bytesThisTick = 0
    private var heldBackThisTick = false
    private var readsHeldBack = false
    private var ticks = 0
    /// Told first when the server starts draining (before NIO's pipelining handler takes the
    /// event), so that the response in progress carries `Connection: close`.
    weak var drainListener: ProxyConnectionHandler?
    /// Bytes read on this connection (for the bytes-in counter).
    private(set) var bytesReceived = 0

    init(limits: LimitsConfiguration, idleTimeout: TimeAmount) {
        self.limits = limits
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm(idleTimeout, reason: .idle) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(idleTimeout, reason: .idle)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = Self.unwrapInboundIn(data).readableBytes
        bytesReceived &+= count
        bytesThisTick &+= count
        if case .idle = state, count > 0 {
            state = .readingHead
            arm(limits.headerTimeout, reason: .header)
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { drainListener?.serverIsDraining() }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: events from the HTTP handler

    /// A request head was decoded; `hasBody` when a body follows.
    func headReceived(hasBody: Bool) {
        timer?.cancel()
        timer = nil
        if hasBody {
            state = .readingBody
            startRateCheck()
        } else {
            state = .waitingForResponse
        }
    }

    /// The request body ended.
    func bodyFinished() {
        stopRateCheck()
        state = .waitingForResponse
    }

    /// The response is complete and the connection stays open for another request.
    func readyForNextRequest() {
        stopRateCheck()
        guard case .waitingForResponse = state else {
            // A pipelined head may already have been decoded; keep its state.
            if case .idle = state { arm(idleTimeout, reason: .idle) }
            return
        }
        state = .idle
        arm(idleTimeout, reason: .idle)
    }

    /// The proxy holds reads back (upstream not writable or not connected yet): time spent so
    /// is not the client's fault.
    func setReadsHeldBack(_ heldBack: Bool) {
        readsHeldBack = heldBack
        if heldBack { heldBackThisTick = true }
    }

    // MARK: timers

    private enum Reason { case idle, header }

    private func arm(_ timeout: TimeAmount, reason: Reason) {
        timer?.cancel()
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            self?.expired(reason)
        }
    }

    private func expired(_ reason: Reason) {
        guard let context else { return }
        timer = nil
        switch reason {
        case .idle:
            guard case .idle = state else { return }
            context.close(promise: nil)
        case .header:
            guard case .readingHead = state else { return }
            var buffer = context.channel.allocator.buffer(capacity: 96)
            buffer.writeStaticString("HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
            context.writeAndFlush(NIOAny(buffer)).whenComplete { [context] _ in
                context.close(promise: nil)
            }
        }
    }

    private func startRateCheck() {
        guard limits.minBodyBytesPerSecond > 0, let context else { return }
        stopRateCheck()
        bytesThisTick = 0
        heldBackThisTick = readsHeldBack
        ticks = 0
        scheduleRateTick()
    }

    private func scheduleRateTick() {
        guard let context else { return }
        rateTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [weak self] in
            self?.rateTick()
        }
    }

    private func rateTick() {
        ticks += 1
        let slow = bytesThisTick < limits.minBodyBytesPerSecond && !heldBackThisTick && !readsHeldBack
        bytesThisTick = 0
        heldBackThisTick = readsHeldBack
        guard case .readingBody = state else { return }
        if ticks > 1 && slow {
            rateTimer = nil
            context?.close(promise: nil)
        } else {
            scheduleRateTick()
        }
    }

    private func stopRateCheck() {
        rateTimer?.cancel()
        rateTimer = nil
    }

    private func cancelTimers() {
        timer?.cancel()
        timer = nil
        stopRateCheck()
    }
}

@available(*, unavailable)
extension ConnectionGuardHandler: Sendable {}
