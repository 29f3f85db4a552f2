import Levee
import NIOCore
import NIOHTTP1

/// Rate limiting for any SwiftNIO HTTP/1.1 server: put it after `configureHTTPServerPipeline()`.
///
/// On each request head it asks its ``HTTPRateLimiter`` about the request's key (the peer's
/// IP address by default, or what `key` returns). Over quota, it answers 429 itself (with
/// `Retry-After`, the rate-limit fields and a problem+json or HTML body, exactly as the proxy),
/// swallows the request's body and does not pass the request on; the connection stays usable
/// for the next request. Admitted requests pass through untouched, and their response heads get
/// the `RateLimit-Policy`/`RateLimit` fields when `addFieldsToAllowedResponses` is set.
/// Responses stay in request order when a client pipelines (see ``HTTPRateLimitStateMachine``).
///
/// ```swift
/// try channel.pipeline.syncOperations.configureHTTPServerPipeline()
/// try channel.pipeline.syncOperations.addHandler(HTTPRateLimitHandler(limiter: limiter))
/// try channel.pipeline.syncOperations.addHandler(MyHTTPHandler())
/// ```
///
/// Create one handler per connection and share one limiter between them all.
public final class HTTPRateLimitHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias InboundOut = HTTPServerRequestPart
    public typealias OutboundIn = HTTPServerResponsePart
    public typealias OutboundOut = HTTPServerResponsePart

    /// Picks the key of a request from its head and the connection's peer; nil skips limiting.
    public typealias KeyFunction = @Sendable (_ head: HTTPRequestHead, _ peer: SocketAddress?) -> LimiterKey?

    /// A prepared 429 and how to send it.
    struct Denial {
        var response: RateLimitResponse
        var version: HTTPVersion
        var keepAlive: Bool
        var isHeadRequest: Bool
    }

    /// The limiter shared by all connections.
    public let limiter: HTTPRateLimiter
    /// Whether admitted responses get the rate-limit fields.
    public let addsFieldsToAllowedResponses: Bool
    private let key: KeyFunction?
    private var peerKey: LimiterKey??
    private var machine = HTTPRateLimitStateMachine<HTTPRateLimiter.Outcome?, Denial>()

    /// Creates the handler of one connection.
    ///
    /// - Parameters:
    ///   - limiter: the limiter (shared by every connection).
    ///   - addFieldsToAllowedResponses: also send `RateLimit-Policy`/`RateLimit` on admitted responses.
    ///   - key: the request's key; by default the peer's IP address (a connection over a Unix
    ///     domain socket then has no key and is not limited).
    public init(limiter: HTTPRateLimiter, addFieldsToAllowedResponses: Bool = false, key: KeyFunction? = nil) {
        self.limiter = limiter
        self.addsFieldsToAllowedResponses = addFieldsToAllowedResponses
        self.key = key
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let outcome = requestKey(head, context: context).map { limiter.check($0) }
            if outcome == nil { limiter.countUnkeyed() }
            if let outcome, !outcome.isAllowed {
                let denial = Denial(
                    response: limiter.response(for: outcome, accept: head.headers.first(name: "accept")),
                    version: head.version, keepAlive: head.isKeepAlive, isHeadRequest: head.method == .HEAD)
                switch machine.deniedHead(denial) {
                case .respond(let denial):
                    send(denial, context: context)
                    context.flush()
                case .hold, .forward:
                    break
                }
            } else {
                _ = machine.admittedHead(outcome)
                context.fireChannelRead(data)
            }
        case .body:
            if case .forward = machine.requestPart(isEnd: false) { context.fireChannelRead(data) }
        case .end:
            if case .forward = machine.requestPart(isEnd: true) { context.fireChannelRead(data) }
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
            if addsFieldsToAllowedResponses, let admitted = machine.finalResponseHead(), let outcome = admitted {
                for field in limiter.fields(for: outcome) { head.headers.replaceOrAdd(name: field.name, value: field.value) }
                context.write(wrapOutboundOut(.head(head)), promise: promise)
            } else {
                context.write(data, promise: promise)
            }
        case .head, .body:
            context.write(data, promise: promise)
        case .end:
            context.write(data, promise: promise)
            machine.responseEnded()
            var released = false
            while let denial = machine.nextReleasedDenial() {
                send(denial, context: context)
                released = true
            }
            // The application flushes its own writes; ours ride along, but must not wait for it.
            if released { context.flush() }
        }
    }

    /// The key of a request: the `key` function's, or the peer address's (read once per connection).
    private func requestKey(_ head: HTTPRequestHead, context: ChannelHandlerContext) -> LimiterKey? {
        if let key { return key(head, context.channel.remoteAddress) }
        if let peerKey { return peerKey }
        let found = context.channel.remoteAddress.flatMap { LimiterKey(socketAddress: $0) }
        peerKey = .some(found)
        return found
    }

    /// Writes a 429 (head, body unless the request was HEAD, end); closes after it when the
    /// client did not ask to keep the connection.
    private func send(_ denial: Denial, context: ChannelHandlerContext) {
        let response = denial.response
        var headers = HTTPHeaders()
        for header in response.headers { headers.add(name: header.name, value: header.value) }
        var body = context.channel.allocator.buffer(capacity: response.body.utf8.count)
        body.writeString(response.body)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        if !denial.keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(
            version: denial.version, status: HTTPResponseStatus(statusCode: response.status, reasonPhrase: response.reason),
            headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !denial.isHeadRequest { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        if denial.keepAlive {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

@available(*, unavailable)
extension HTTPRateLimitHandler: Sendable {}
