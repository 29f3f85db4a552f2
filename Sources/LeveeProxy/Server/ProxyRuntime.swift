import NIOHTTP1

/// Everything a reload may change, compiled for the data path: routes, pools, limits, timeouts,
/// forwarding and the filter. Immutable; `ProxyServer.apply` builds a new one and hands it to
/// every event loop, so a request sees one consistent configuration from head to end.
final class ProxyRuntime: Sendable {
    let configuration: ProxyConfiguration
    let router: Router
    let pools: [String: UpstreamPool]
    let filter: any RequestFilter
    /// `Via` value toward upstreams and clients ("1.1 levee"), precomputed.
    let viaValue: String?

    init(configuration: ProxyConfiguration, filter: any RequestFilter, previous: ProxyRuntime?) {
        self.configuration = configuration
        self.filter = filter
        var known: [BackendAddress: Backend] = [:]
        for pool in previous?.pools.values.map({ $0 }) ?? [] {
            for backend in pool.backends { known[backend.address] = backend }
        }
        var pools: [String: UpstreamPool] = [:]
        for (name, poolConfiguration) in configuration.upstreams {
            let pool = UpstreamPool(configuration: poolConfiguration, previous: known, previousPool: previous?.pools[name])
            for backend in pool.backends { known[backend.address] = backend }
            pools[name] = pool
        }
        self.pools = pools
        self.router = Router(entries: configuration.routes.compactMap { route in
            // A route naming an unknown pool is rejected by validation; skip it defensively.
            guard let pool = pools[route.upstream] else { return nil }
            return Router.Entry(route: route, host: route.host.map(Router.normalize), pool: pool)
        })
        // Validation refuses an unsendable `via`; one that bypassed it is left out, not sent.
        self.viaValue = configuration.forwarding.via.map { "1.1 \($0)" }.flatMap { $0.isSendableFieldValue ? $0 : nil }
    }
}
