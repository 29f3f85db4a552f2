import NIOCore

/// First handler of a client connection, in front of the HTTP decoder, on raw bytes. It defends
/// against slow clients (logic in `ClientDeadlineStateMachine`):
/// - idle keep-alive: no byte of a next request within `timeouts.idle` → close;
/// - slowloris: a request head not complete within `limits.headerTimeout` of its first byte →
///   `408` and close;
/// - slow body: fewer than `limits.minBodyBytesPerSecond` bytes in a second (after a grace
///   second, not counting time the proxy itself holds reads back) → close.
/// The HTTP handler tells it where each request is and when it holds reads back.
final class ConnectionGuardHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var machine: ClientDeadlineStateMachine
    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    /// The deadline that applies now (idle or header), if any.
    private var armed: (kind: ClientDeadlineStateMachine.Deadline, at: NIODeadline)?
    /// One timer, rescheduled only when a deadline comes earlier than its firing time: when it
    /// fires early for a deadline that moved later it re-arms, so a keep-alive request (header
    /// deadline, then idle deadline) schedules and cancels nothing.
    private var deadlineTimer = EarliestDeadlineTimer()
    private var rateTimer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// The HTTP/1 handler behind this one: handed the bytes read directly (it parses them; no
    /// pipeline hop or boxed part per read), and told first when the server starts draining, so
    /// that the response in progress carries `Connection: close`.
    /// Strong (both handlers go with the pipeline): a weak reference would move the client
    /// handler's reference count to a side table, slowing its every retain and release.
    var http: ProxyConnectionHandler?
    /// Bytes read on this connection (for the bytes-in counter).
    private(set) var bytesReceived = 0

    init(limits: LimitsConfiguration, idleTimeout: TimeAmount) {
        self.machine = ClientDeadlineStateMachine(minBodyBytesPerSecond: limits.minBodyBytesPerSecond)
        self.headerTimeout = limits.headerTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { run(machine.connected()) }
    }

    func channelActive(context: ChannelHandlerContext) {
        run(machine.connected())
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        http = nil  // it holds this handler too
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        http = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Self.unwrapInboundIn(data)
        bytesReceived &+= bytes.readableBytes
        run(machine.bytesReceived(bytes.readableBytes))
        if let http {
            http.receive(bytes: bytes)
        } else {
            context.fireChannelRead(data)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { http?.serverIsDraining() }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: events from the HTTP handler

    func headReceived(hasBody: Bool) { run(machine.headReceived(hasBody: hasBody)) }
    func bodyFinished() { run(machine.bodyFinished()) }
    func readyForNextRequest() { run(machine.responseFinished()) }
    func setReadsHeldBack(_ heldBack: Bool) { machine.readsHeldBack(heldBack) }

    // MARK: actions

    private func run(_ action: ClientDeadlineStateMachine.Action) {
        switch action {
        case .none:
            break
        case .arm(let kind):
            arm(kind)
        case .cancelDeadline:
            armed = nil
        case .cancelDeadlineAndStartRateChecks:
            armed = nil
            scheduleRateCheck()
        case .stopRateChecks:
            rateTimer?.cancel()
            rateTimer = nil
        case .stopRateChecksAndArmIdle:
            rateTimer?.cancel()
            rateTimer = nil
            arm(.idle)
        case .scheduleRateCheck:
            scheduleRateCheck()
        case .close(let requestTimeout):
            close(sending408: requestTimeout)
        }
    }

    private func arm(_ kind: ClientDeadlineStateMachine.Deadline) {
        let at = NIODeadline.now() + (kind == .idle ? idleTimeout : headerTimeout)
        armed = (kind, at)
        wakeUp(by: at)
    }

    private func wakeUp(by deadline: NIODeadline) {
        // Checked before the closure is made: a later deadline (the usual case) allocates nothing.
        guard deadline < deadlineTimer.firesAt, let context else { return }
        // Strong captures here: the connection's end cancels both timers.
        deadlineTimer.arm(by: deadline, on: context.eventLoop) { self.deadlineTimerFired() }
    }

    private func deadlineTimerFired() {
        deadlineTimer.fired()
        guard let armed else { return }
        if armed.at <= .now() {
            self.armed = nil
            run(machine.deadlineExpired(armed.kind))
        } else {
            wakeUp(by: armed.at)
        }
    }

    private func scheduleRateCheck() {
        guard let context else { return }
        rateTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) {
            self.rateTimer = nil
            self.run(self.machine.rateCheckTick())
        }
    }

    private func close(sending408: Bool) {
        guard let context else { return }
        cancelTimers()
        guard sending408 else {
            context.close(promise: nil)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 96)
        buffer.writeStaticString("HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
        context.writeAndFlush(NIOAny(buffer)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private func cancelTimers() {
        armed = nil
        deadlineTimer.cancel()
        rateTimer?.cancel()
        rateTimer = nil
    }
}

@available(*, unavailable)
extension ConnectionGuardHandler: Sendable {}
