import CoreMetrics
import NIOCore
import NIOHTTP1
import NIOPosix

/// State owned by one event loop: its copy of the runtime, its keep-alive pools (one idle list
/// per backend), round-robin cursors and cached metric objects. Only ever touched on its loop
/// (held in `NIOLoopBound`), so nothing here needs a lock.
final class LoopContext {
    let eventLoop: any EventLoop
    let statistics: LoopStatistics
    let metrics: ProxyMetrics
    /// This loop's observations for the degradation tiers (collected once per tick).
    let signals = LoopSignals()
    /// Replaced on reload (on this loop).
    var runtime: ProxyRuntime
    /// Idle keep-alive connections per backend. Each list is mutated in place through the
    /// dictionary (never copied out), so taking or parking a connection costs no array copy.
    private var idle: [BackendAddress: IdleConnections] = [:]

    /// One backend's idle list, a reference so that taking and returning a connection reads the
    /// dictionary instead of mutating through it (its `_modify` coroutine allocated: 3 of a
    /// proxied request's 13 mallocs).
    private final class IdleConnections {
        var connections: [UpstreamHandler] = []
    }
    private var roundRobin: [String: Int] = [:]
    private var requestCounters: [RequestCounterKey: Counter] = [:]

    private struct RequestCounterKey: Hashable {
        var route: String
        var status: UInt
    }

    init(eventLoop: any EventLoop, runtime: ProxyRuntime, metrics: ProxyMetrics, statistics: LoopStatistics) {
        self.eventLoop = eventLoop
        self.runtime = runtime
        self.metrics = metrics
        self.statistics = statistics
    }

    /// The last counter used: consecutive requests mostly share route and status, and comparing
    /// the route's string (the same storage each time) is cheaper than hashing it.
    private var lastCounted: (route: String, status: UInt, counter: Counter)?

    func countRequest(route: String, status: UInt) {
        if let last = lastCounted, last.status == status, last.route == route {
            last.counter.increment()
            return
        }
        let key = RequestCounterKey(route: route, status: status)
        let counter: Counter
        if let cached = requestCounters[key] {
            counter = cached
        } else {
            counter = metrics.requestCounter(route: route, status: status)
            requestCounters[key] = counter
        }
        lastCounted = (route, status, counter)
        counter.increment()
    }

    /// Picks a backend of `pool` that passive health admits, by the pool's balance policy.
    func pickBackend(_ pool: UpstreamPool, excluding tried: Backend?) -> Backend? {
        let configuration = pool.configuration
        let backends = pool.backends
        guard !backends.isEmpty else { return nil }
        if backends.count == 1 {  // nothing to balance: no cursor to look up
            let only = backends[0]
            return only.admits(now: .now(), maxFailures: configuration.maxFailures, ejectionTime: configuration.ejectionTime) ? only : nil
        }
        switch configuration.balance {
        case .roundRobin:
            let start = roundRobin[pool.name, default: 0]
            for offset in 0..<backends.count {
                let candidate = backends[(start + offset) % backends.count]
                if candidate === tried && backends.count > 1 { continue }
                if candidate.admits(now: .now(), maxFailures: configuration.maxFailures, ejectionTime: configuration.ejectionTime) {
                    roundRobin[pool.name] = (start + offset + 1) % backends.count
                    return candidate
                }
            }
            return nil
        case .leastInFlight:
            var best: Backend?
            for candidate in backends where !(candidate === tried && backends.count > 1) {
                guard candidate.isHealthy(maxFailures: configuration.maxFailures) else { continue }
                if best == nil || candidate.inFlight < best!.inFlight { best = candidate }
            }
            if let best { return best }
            // Every backend is ejected: let a probe through to one whose rest is over.
            return backends.first {
                $0.admits(now: .now(), maxFailures: configuration.maxFailures, ejectionTime: configuration.ejectionTime)
            }
        }
    }

    /// An idle keep-alive connection to `backend`, if one is still open.
    func takeIdleConnection(to backend: Backend) -> UpstreamHandler? {
        guard let list = idleList(for: backend, create: false) else { return nil }
        while let connection = list.connections.popLast() {
            if connection.isActive { return connection }
            connection.close()
        }
        return nil
    }

    /// Returns a connection to the pool after a complete exchange, or closes it if the pool is full.
    func release(_ connection: UpstreamHandler, maxIdle: Int) {
        guard connection.isActive, let list = idleList(for: connection.backend, create: true) else { return }
        guard list.connections.count < maxIdle else {
            connection.close()
            return
        }
        connection.park(idleTimeout: runtime.configuration.timeouts.idle)
        list.connections.append(connection)
    }

    /// Closes every idle pooled connection (at shutdown).
    func closeIdleConnections() {
        let all = idle.values.flatMap(\.connections)
        idle.removeAll()
        lastIdle = nil
        for connection in all { connection.close() }
    }

    /// The last backend's idle list: most requests go to the backend the one before went to (a
    /// pool has one backend or few), and comparing objects is cheaper than hashing an address.
    private var lastIdle: (backend: Backend, list: IdleConnections)?

    private func idleList(for backend: Backend, create: Bool) -> IdleConnections? {
        if let last = lastIdle, last.backend === backend { return last.list }
        let list: IdleConnections
        if let existing = idle[backend.address] {
            list = existing
        } else {
            guard create else { return nil }
            list = IdleConnections()
            idle[backend.address] = list
        }
        lastIdle = (backend, list)
        return list
    }

    private func forget(_ connection: UpstreamHandler) {
        let address = connection.backend.address
        guard let list = idle[address], let index = list.connections.firstIndex(where: { $0 === connection }) else { return }
        list.connections.remove(at: index)
    }

    /// Dials `backend` of `pool` on this event loop, so that both sides of the proxy share one
    /// loop; a TLS backend gets the pool's TLS handler first (requests written before the
    /// handshake ends wait in it).
    func connect(to backend: Backend, of pool: UpstreamPool) -> EventLoopFuture<any Channel> {
        let tls: UpstreamTLSContext?
        if backend.address.tls {
            switch pool.tls {
            case .success(let context): tls = context
            case .failure(let error): return eventLoop.makeFailedFuture(error)
            case nil: return eventLoop.makeFailedFuture(TLSServerContext.LoadError(path: pool.name, reason: "no TLS context"))
            }
        } else {
            tls = nil
        }
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(runtime.configuration.timeouts.connect)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(tls.makeHandler(for: backend.address)) }
                    // One handler: it parses responses in place and writes requests as bytes.
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler(backend: backend))
                }
            }
        if let address = backend.socketAddress {
            return bootstrap.connect(to: address)
        }
        return bootstrap.connect(host: backend.address.host, port: backend.address.port)
    }

    /// The upstream handler of a freshly connected channel, tracked so that the pool forgets it
    /// when it closes. Call on this loop.
    func adopt(_ channel: any Channel) throws -> UpstreamHandler {
        let handler = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
        // Strong: the connection drops it when it closes; a weak capture would put this loop's
        // context, used by every request, on the slow reference-counting path.
        handler.onClose = { connection in self.forget(connection) }
        return handler
    }
}
