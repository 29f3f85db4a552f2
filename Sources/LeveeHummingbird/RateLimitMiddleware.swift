import HTTPTypes
import Hummingbird
import Levee
import LeveeNIO
import NIOCore

/// Rate limiting for a Hummingbird 2 application, as a router middleware.
///
/// Each request is checked against the middleware's ``HTTPRateLimiter`` under a key taken from
/// the request: the client's address by default (for a context conforming to
/// `RemoteAddressRequestContext`, such as ``ClientAddressRequestContext``), or whatever `key`
/// returns — an API key, a user id. A request over quota gets 429 with `Retry-After`,
/// `RateLimit-Policy`/`RateLimit` and a problem+json (or HTML) body, built by the same code as
/// the proxy's; the handlers after the middleware do not run. A nil key skips limiting.
///
/// ```swift
/// let router = Router(context: ClientAddressRequestContext.self)
/// router.add(middleware: RateLimitMiddleware(try Quota(parsing: "100/min burst 20")))
/// ```
public struct RateLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Picks the key of a request; nil lets the request through unchecked.
    public typealias KeyFunction = @Sendable (_ request: Request, _ context: Context) -> LimiterKey?

    /// The limiter (its counters are readable by the application).
    public let limiter: HTTPRateLimiter
    /// Whether admitted responses get the rate-limit fields.
    public let addsFieldsToAllowedResponses: Bool
    private let key: KeyFunction

    /// A middleware checking requests against `limiter` under the key `key` returns.
    ///
    /// - Parameters:
    ///   - limiter: the limiter; share one between middlewares to share the quotas.
    ///   - addFieldsToAllowedResponses: also send `RateLimit-Policy`/`RateLimit` on admitted responses.
    ///   - key: the request's key; nil skips limiting for the request.
    public init(limiter: HTTPRateLimiter, addFieldsToAllowedResponses: Bool = false, key: @escaping KeyFunction) {
        self.limiter = limiter
        self.addsFieldsToAllowedResponses = addFieldsToAllowedResponses
        self.key = key
    }

    /// A middleware enforcing one quota per key, with a limiter of its own.
    public init(_ quota: Quota, name: String = "per-client", addFieldsToAllowedResponses: Bool = false,
                key: @escaping KeyFunction) {
        self.init(limiter: HTTPRateLimiter(quota, name: name),
                  addFieldsToAllowedResponses: addFieldsToAllowedResponses, key: key)
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let key = key(request, context) else {
            limiter.countUnkeyed()
            return try await next(request, context)
        }
        let outcome = limiter.check(key)
        guard outcome.isAllowed else {
            return Self.response(limiter.response(for: outcome, accept: request.headers[.accept]),
                                 isHeadRequest: request.method == .head)
        }
        var response = try await next(request, context)
        if addsFieldsToAllowedResponses {
            for field in limiter.fields(for: outcome) {
                if let name = HTTPField.Name(field.name) { response.headers[name] = field.value }
            }
        }
        return response
    }

    /// The core's 429 as a Hummingbird response.
    static func response(_ answer: RateLimitResponse, isHeadRequest: Bool) -> Response {
        var headers = HTTPFields()
        for header in answer.headers {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        let body = ByteBuffer(string: answer.body)
        headers[.contentLength] = String(body.readableBytes)
        return Response(
            status: HTTPResponse.Status(code: answer.status, reasonPhrase: answer.reason), headers: headers,
            body: isHeadRequest ? ResponseBody() : ResponseBody(byteBuffer: body))
    }
}

extension RateLimitMiddleware where Context: RemoteAddressRequestContext {
    /// A middleware limiting each client address (its `remoteAddress`; none means unchecked).
    public init(limiter: HTTPRateLimiter, addFieldsToAllowedResponses: Bool = false) {
        self.init(limiter: limiter, addFieldsToAllowedResponses: addFieldsToAllowedResponses) { _, context in
            context.remoteAddress.flatMap { LimiterKey(socketAddress: $0) }
        }
    }

    /// A middleware enforcing `quota` per client address, with a limiter of its own.
    public init(_ quota: Quota, name: String = "per-client", addFieldsToAllowedResponses: Bool = false) {
        self.init(limiter: HTTPRateLimiter(quota, name: name), addFieldsToAllowedResponses: addFieldsToAllowedResponses)
    }
}

extension RateLimitMiddleware {
    /// A key function reading the header `name` (an API key, a tenant id); requests without it
    /// are not limited by this middleware.
    public static func header(_ name: HTTPField.Name) -> KeyFunction {
        { request, _ in request.headers[name].map { LimiterKey($0) } }
    }
}
