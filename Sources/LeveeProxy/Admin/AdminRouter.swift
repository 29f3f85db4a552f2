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
    /// Routes that own every path below a prefix (`DELETE /admin/bans/{address}`).
    private let prefixRoutes = Mutex<[Key: Route]>([:])

    public init() {}

    /// Registers (or replaces) the handler of `method` `path` (exact match, no query string).
    public func add(_ method: HTTPMethod, _ path: String, requiresToken: Bool = false, _ handler: @escaping Handler) {
        routes.withLock { $0[Key(method: method.rawValue, path: path)] = Route(requiresToken: requiresToken, handler: handler) }
    }

    /// Registers the handler of `method` for every path that starts with `prefix` (which should
    /// end with `/`), e.g. `DELETE /admin/bans/` for `DELETE /admin/bans/203.0.113.5`. The handler
    /// reads the rest with `AdminRequest.pathRemainder(after:)`. Exact routes win; then the
    /// longest prefix.
    public func add(_ method: HTTPMethod, prefix: String, requiresToken: Bool = false, _ handler: @escaping Handler) {
        prefixRoutes.withLock { $0[Key(method: method.rawValue, path: prefix)] = Route(requiresToken: requiresToken, handler: handler) }
    }

    /// Every registered `METHOD path`, sorted (shown on 404 so that operators find the right one).
    public var endpoints: [String] {
        (routes.withLock { $0.keys.map { "\($0.method) \($0.path)" } }
            + prefixRoutes.withLock { $0.keys.map { "\($0.method) \($0.path){…}" } }).sorted()
    }

    /// The longest prefix route for `request` (nil: none), and whether any method owns a prefix of its path.
    private func prefixRoute(for request: AdminRequest) -> (Route?, Bool) {
        prefixRoutes.withLock { table -> (Route?, Bool) in
            let owning = table.keys.filter { request.path.hasPrefix($0.path) && request.path.count > $0.path.count }
            let best = owning.filter { $0.method == request.method.rawValue }.max { $0.path.count < $1.path.count }
            return (best.flatMap { table[$0] }, !owning.isEmpty)
        }
    }

    /// Routes `request`, enforcing the token; `token` is the one configured now (nil: none).
    public func respond(to request: AdminRequest, token: String?) async -> AdminResponse {
        var (route, pathExists) = routes.withLock { table -> (Route?, Bool) in
            let route = table[Key(method: request.method.rawValue, path: request.path)]
            return (route, route != nil || table.keys.contains { $0.path == request.path })
        }
        if route == nil {
            let (prefixed, prefixExists) = prefixRoute(for: request)
            route = prefixed
            pathExists = pathExists || prefixExists
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
