import NIOCore
import NIOHTTP1

/// What the pipeline knows about a request when it asks the filter for a decision.
public struct RequestContext: Sendable {
    public var head: HTTPRequestHead
    /// The TCP peer (the client, or the last hop when behind a load balancer).
    public var socketAddress: SocketAddress?
    /// The address announced by a PROXY protocol header on this connection, if any (the filter
    /// decides whether to believe it).
    public var proxyProtocolSource: SocketAddress?
    /// Name of the matched route.
    public var routeName: String
    public var isTLS: Bool
    /// JA4 fingerprint of the TLS ClientHello, when TLS is terminated here.
    public var ja4: String?
    /// The route is marked `critical = true`: served to every class but `banned` in every tier.
    public var isCriticalRoute: Bool

    public init(
        head: HTTPRequestHead, socketAddress: SocketAddress?, proxyProtocolSource: SocketAddress? = nil,
        routeName: String, isTLS: Bool = false, ja4: String? = nil, isCriticalRoute: Bool = false
    ) {
        self.head = head
        self.socketAddress = socketAddress
        self.proxyProtocolSource = proxyProtocolSource
        self.routeName = routeName
        self.isTLS = isTLS
        self.ja4 = ja4
        self.isCriticalRoute = isCriticalRoute
    }
}

/// A complete response produced by the proxy itself (429, 403, challenge page, 503 …).
public struct LocalResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    /// Close the connection after sending it.
    public var close: Bool

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer(), close: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.close = close
    }
}

/// The filter's decision for one request.
public enum FilterVerdict: Sendable {
    /// Forward to the upstream; add `responseHeaders` (e.g. rate-limit fields) to its response.
    /// `clientClass` orders the request in the upstream pool's concurrency queue (shedding).
    case forward(responseHeaders: HTTPHeaders, clientClass: ClientClass = .unknown)
    /// Hold the request for `delay`, then forward it (nginx `burst` without `nodelay`).
    case forwardAfter(delay: TimeAmount, responseHeaders: HTTPHeaders, clientClass: ClientClass = .unknown)
    /// Answer locally, never reaching the upstream.
    case respond(LocalResponse)
    /// Hold the connection for `duration` (costing the client, not us), then answer.
    case tarpit(duration: TimeAmount, response: LocalResponse)
    /// Close the connection without an answer.
    case close
}

extension FilterVerdict {
    /// The same verdict, forwarding as `clientClass` (other verdicts are unchanged).
    public func forwarding(as clientClass: ClientClass) -> FilterVerdict {
        switch self {
        case .forward(let headers, _): return .forward(responseHeaders: headers, clientClass: clientClass)
        case .forwardAfter(let delay, let headers, _): return .forwardAfter(delay: delay, responseHeaders: headers, clientClass: clientClass)
        default: return self
        }
    }
}

/// The hook between the HTTP pipeline and the flood filter. Called on the connection's event
/// loop once per request, after the head is decoded and the route chosen; must not block.
public protocol RequestFilter: Sendable {
    func evaluate(_ request: RequestContext) -> FilterVerdict

    /// A client connection was closed for abuse below HTTP requests (for example an HTTP/2
    /// rapid-reset flood): charge the client as for exceeding a limit. Called on an event loop.
    func connectionAbused(socketAddress: SocketAddress?, reason: String)

    /// A request that waited in an upstream pool's concurrency queue was just granted a slot:
    /// the answer that sheds it instead when the degradation tier has risen meanwhile and no
    /// longer admits its class (nil: forward it). Called on the connection's event loop.
    func shedAfterQueueing(clientClass: ClientClass, routeName: String, isCriticalRoute: Bool, accept: String?) -> LocalResponse?
}

extension RequestFilter {
    /// Default: nothing to charge.
    public func connectionAbused(socketAddress: SocketAddress?, reason: String) {}

    /// Default: no tiers, nothing to shed.
    public func shedAfterQueueing(
        clientClass: ClientClass, routeName: String, isCriticalRoute: Bool, accept: String?
    ) -> LocalResponse? { nil }
}

/// The filter used when no rules are configured: forwards everything.
public struct AllowAllFilter: RequestFilter {
    public init() {}
    public func evaluate(_ request: RequestContext) -> FilterVerdict { .forward(responseHeaders: [:]) }
}
