import NIOCore
import NIOHTTP1

/// One request/response exchange on a client connection, from its head to the end of the
/// response. Owned by `ProxyConnectionHandler` on the connection's event loop.
final class Exchange {
    enum Phase: Equatable {
        /// Head read; the route and the filter are being consulted.
        case deciding
        /// Held by the filter (delay or tarpit), or waiting in the pool's concurrency queue.
        case waiting
        /// Waiting for an upstream connection.
        case connecting
        /// Request parts go straight to the upstream connection.
        case forwarding
        /// The proxy answers itself.
        case responding
    }

    let head: HTTPRequestHead
    let runtime: ProxyRuntime
    let startedAt: NIODeadline
    var phase = Phase.deciding
    var routeName = "-"
    var entry: Router.Entry?
    var framing = RequestValidation.BodyFraming.none
    var maxBodyBytes = Int.max
    /// The request head for the upstream, in wire form (kept for a retry on another connection).
    var upstreamHead: ByteBuffer?
    /// Added to the upstream's response (the filter's rate-limit fields).
    var extraResponseHeaders: HTTPHeaders = [:]
    /// Request parts read before an upstream connection was ready (bounded by one read batch,
    /// since reads stop while there is no connection).
    var buffered: [HTTPClientRequestPart] = []
    var requestEnded = false
    var bodyBytes = 0
    var upstream: UpstreamHandler?
    var backend: Backend?
    /// Whether `upstream` came from the idle pool (a stale keep-alive connection may fail).
    var upstreamWasReused = false
    var attempts = 0
    var responseStarted = false
    /// Whether the response came from `backend` (not a local answer).
    var answeredByUpstream = false
    var status: UInt = 0
    var clientKeepAlive: Bool
    var sentAt: NIODeadline?
    var responseBytes = 0
    /// When the whole exchange times out (`timeouts.request`), checked by the connection's timer.
    var requestDeadline = NIODeadline.distantFuture
    /// When the upstream's response head is due (`timeouts.responseHeader`), once the request is sent.
    var headerDeadline: NIODeadline?
    /// A filter delay or tarpit, or the concurrency queue's timeout (rare, so a timer of its own).
    var holdTimer: Scheduled<Void>?
    /// The class the filter gave the client: its place in the pool's concurrency queue.
    var clientClass = ClientClass.unknown
    /// Where the exchange stands at its pool's concurrency gate (nil: not there, or no gate).
    var admission: Admission?
    /// Nanoseconds from sending the request to the upstream's response head.
    var upstreamRTT: UInt64?
    /// The upstream timed out or failed on this request (a drop, for the concurrency limit).
    var upstreamDropped = false

    /// An exchange's hold on its pool's concurrency gate.
    enum Admission {
        /// Waiting in the queue under `ticket`.
        case queued(ConcurrencyGate<EventLoopWaiter>, ticket: UInt64)
        /// Holds a slot: `finish` it exactly once.
        case holding(ConcurrencyGate<EventLoopWaiter>)
    }

    init(head: HTTPRequestHead, runtime: ProxyRuntime, keepAlive: Bool) {
        self.head = head
        self.runtime = runtime
        self.startedAt = .now()
        self.clientKeepAlive = keepAlive
    }

    /// Stops the hold timer and the deadlines (the connection's timer then finds nothing due).
    func cancelTimers() {
        holdTimer?.cancel()
        holdTimer = nil
        headerDeadline = nil
        requestDeadline = .distantFuture
    }

    /// Methods that may be retried on another backend (RFC 9110 §9.2.2).
    var isIdempotent: Bool {
        switch head.method {
        case .GET, .HEAD, .PUT, .DELETE, .OPTIONS, .TRACE: return true
        default: return false
        }
    }
}

@available(*, unavailable)
extension Exchange: Sendable {}
