import NIOCore
import NIOHTTP1

/// What an upstream connection reports to the client-side handler it currently serves.
/// Both live on the same event loop, so calls are plain synchronous method calls.
protocol UpstreamDelegate: AnyObject {
    func upstreamResponseHead(_ head: HTTPResponseHead, from upstream: UpstreamHandler)
    func upstreamResponseBody(_ body: ByteBuffer, from upstream: UpstreamHandler)
    func upstreamResponseEnd(_ trailers: HTTPHeaders?, from upstream: UpstreamHandler)
    func upstreamReadComplete(from upstream: UpstreamHandler)
    /// The connection failed or closed while serving this delegate.
    func upstreamFailed(_ error: (any Error)?, from upstream: UpstreamHandler)
    func upstreamWritabilityChanged(from upstream: UpstreamHandler)
    /// Whether the client side can take more bytes (back-pressure toward the upstream).
    var downstreamIsWritable: Bool { get }
}

/// The last handler of an upstream (proxy → backend) connection: hands response parts to the
/// current delegate and only reads from the backend while the client can take more bytes.
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let backend: Backend
    /// The exchange this connection is serving; nil while idle in the pool.
    weak var delegate: (any UpstreamDelegate)?
    /// Called once when the channel closes (the pool drops it from its idle list).
    var onClose: ((UpstreamHandler) -> Void)?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    /// While parked: when the connection is closed unless taken again.
    private var idleDeadline: NIODeadline?
    /// One timer for the idle deadline, rescheduled only when the deadline comes earlier than its
    /// firing time (re-armed when it fires early), so parking and unparking per request
    /// schedules nothing.
    private var idleTimer = EarliestDeadlineTimer()

    init(backend: Backend) {
        self.backend = backend
    }

    var isActive: Bool { context?.channel.isActive ?? false }
    var isWritable: Bool { context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let delegate else {
            // Bytes from an idle backend connection: nothing asked for them, so it cannot be reused.
            context.close(promise: nil)
            return
        }
        switch Self.unwrapInboundIn(data) {
        case .head(let head): delegate.upstreamResponseHead(head, from: self)
        case .body(let body): delegate.upstreamResponseBody(body, from: self)
        case .end(let trailers): delegate.upstreamResponseEnd(trailers, from: self)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete(from: self)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let delegate = self.delegate
        self.delegate = nil
        delegate?.upstreamFailed(error, from: self)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelIdleTimer()
        if let delegate {
            self.delegate = nil
            delegate.upstreamFailed(nil, from: self)
        }
        let onClose = self.onClose
        self.onClose = nil
        onClose?(self)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(from: self)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if let delegate, !delegate.downstreamIsWritable {
            pendingRead = true
            return
        }
        context.read()
    }

    /// Re-issues a read held back while the client was not writable.
    func resumeReading() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    func send(_ part: HTTPClientRequestPart) {
        context?.write(Self.wrapOutboundOut(part), promise: nil)
    }

    func flush() { context?.flush() }

    /// Closes the connection without telling the delegate (it already knows).
    func close() {
        delegate = nil
        cancelIdleTimer()
        context?.close(promise: nil)
    }

    /// Parks the connection in the pool: it closes itself after `idleTimeout` unless taken.
    func park(idleTimeout: TimeAmount) {
        delegate = nil
        guard let context else { return }
        let deadline = NIODeadline.now() + idleTimeout
        idleDeadline = deadline
        wakeUp(by: deadline)
        if pendingRead {
            pendingRead = false
            context.read()  // keep reading while idle so that a close by the backend is noticed
        }
    }

    /// Takes the connection out of the pool for `delegate`.
    func unpark(for delegate: any UpstreamDelegate) {
        idleDeadline = nil
        self.delegate = delegate
    }

    private func wakeUp(by deadline: NIODeadline) {
        // Checked before the closure is made: a later deadline (the usual case) allocates nothing.
        guard deadline < idleTimer.firesAt, let context else { return }
        idleTimer.arm(by: deadline, on: context.eventLoop) { [weak self] in self?.idleTimerFired() }
    }

    private func idleTimerFired() {
        idleTimer.fired()
        guard let idleDeadline else { return }  // in use: parking arms it again
        if idleDeadline <= .now() {
            close()
        } else {
            wakeUp(by: idleDeadline)
        }
    }

    private func cancelIdleTimer() {
        idleDeadline = nil
        idleTimer.cancel()
    }
}

@available(*, unavailable)
extension UpstreamHandler: Sendable {}
