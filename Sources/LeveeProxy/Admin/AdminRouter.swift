import Synchronization
import NIOHTTP1

/// The admin listener's table of endpoints. Adding one is one line:
///
///     router.add(.GET, "/admin/top") { request in .json(topTalkers()) }
///     router.add(.POST, "/admin/bans", requiresToken: true) { request in ... }
///
/// Endpoints that change state pass `requiresToken: true`: they answer 401 without a valid
/// `Authorization: Bearer TOKEN` and 403 when no token is configured at all. Routes can be added
/// at any time (even while serving); lookups take a lock briefly (the admin listener is not a hot path).
public final class AdminRouter: Sendable {
    /// Answers one request.
    public typealias Handler = @Sendable (AdminRequest) async -> AdminResponse

    struct Route: Sendable {
        var requiresToken: Bool
        var handler: Handler
    }

    struct Key: Hashable, Sendable {
        var method: String
        var path: String
    }

    private let routes = Mutex<[Key: Route]>([:])

    public init() {}

    /// Registers (or replaces) the handler of `method` `path` (exact match, no query string).
    public func add(_ method: HTTPMethod, _ path: String, requiresToken: Bool = false, _ handler: @escaping Handler) {
        routes.withLock { $0[Key(method: method.rawValue, path: path)] = Route(requiresToken: requiresToken, handler: handler) }
    }

    /// Every registered `METHOD path`, sorted (shown on 404 so that operators find the right one).
    public var endpoints: [String] {
        routes.withLock { $0.keys.map { "\($0.method) \($0.path)" } }.sorted()
    }

    /// Routes `request`, enforcing the token; `token` is the one configured now (nil: none).
    public func respond(to request: AdminRequest, token: String?) async -> AdminResponse {
        let (route, pathExists) = routes.withLock { table -> (Route?, Bool) in
            let route = table[Key(method: request.method.rawValue, path: request.path)]
            return (route, route != nil || table.keys.contains { $0.path == request.path })
        }
        guard let route else {
            if pathExists { return .error(.methodNotAllowed, "method \(request.method.rawValue) not allowed on \(request.path)") }
            return .error(.notFound, "no endpoint \(request.path); try: \(endpoints.joined(separator: ", "))")
        }
        if route.requiresToken {
            guard let token else {
                return .error(.forbidden, "this endpoint needs an admin token: set [admin] token or \(ProxyConfiguration.adminTokenEnvironmentVariable)")
            }
            guard let offered = request.bearerToken, Self.constantTimeEqual(offered, token) else {
                var response = AdminResponse.error(.unauthorized, "missing or wrong bearer token")
                response.headers.add(name: "www-authenticate", value: "Bearer realm=\"levee-admin\"")
                return response
            }
        }
        return await route.handler(request)
    }

    /// Compares without an early exit, so response time does not reveal how much of a guess matched.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(truncatingIfNeeded: x.count ^ y.count)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }
}
