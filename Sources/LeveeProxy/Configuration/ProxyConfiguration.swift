import NIOCore

/// The whole in-memory configuration of a running proxy. `levee serve --config FILE` builds it from
/// TOML (see `ProxyConfiguration+TOML.swift`); the quick form builds it from flags. A reload swaps
/// the whole value atomically. Every field has a safe default so that a minimal file works.
public struct ProxyConfiguration: Sendable, Equatable {
    /// Where clients connect.
    public var listeners: [ListenerConfiguration]
    /// Event loops (threads); nil means one per core.
    public var workers: Int?
    /// The admin listener (metrics, status, reload); nil disables it.
    public var admin: AdminConfiguration?
    /// Routes in order: the first whose host and path prefix match wins.
    public var routes: [RouteConfiguration]
    /// Upstream pools by name; routes refer to them.
    public var upstreams: [String: UpstreamPoolConfiguration]
    /// Size limits and slow-client defences.
    public var limits: LimitsConfiguration
    /// Timeouts toward clients and upstreams.
    public var timeouts: TimeoutsConfiguration
    /// `X-Forwarded-*` and `Via` handling.
    public var forwarding: ForwardingConfiguration
    /// JSON-lines access log; nil disables it.
    public var accessLog: AccessLogConfiguration?
    /// A built-in demo backend, started in-process (the default config uses it).
    public var demoBackend: DemoBackendConfiguration?
    /// The flood filter: trusted networks, rules, challenge, bans.
    public var filter: FilterConfiguration
    /// Degradation tiers (`[degradation]`); off by default.
    public var degradation: DegradationConfiguration
    /// How long in-flight requests may finish after SIGTERM before connections are closed.
    public var shutdownGracePeriod: TimeAmount

    public init(
        listeners: [ListenerConfiguration] = [ListenerConfiguration(host: "127.0.0.1", port: 8080)],
        workers: Int? = nil,
        admin: AdminConfiguration? = AdminConfiguration(),
        routes: [RouteConfiguration] = [],
        upstreams: [String: UpstreamPoolConfiguration] = [:],
        limits: LimitsConfiguration = LimitsConfiguration(),
        timeouts: TimeoutsConfiguration = TimeoutsConfiguration(),
        forwarding: ForwardingConfiguration = ForwardingConfiguration(),
        accessLog: AccessLogConfiguration? = nil,
        demoBackend: DemoBackendConfiguration? = nil,
        filter: FilterConfiguration = FilterConfiguration(),
        degradation: DegradationConfiguration = DegradationConfiguration(),
        shutdownGracePeriod: TimeAmount = .seconds(10)
    ) {
        self.listeners = listeners
        self.workers = workers
        self.admin = admin
        self.routes = routes
        self.upstreams = upstreams
        self.limits = limits
        self.timeouts = timeouts
        self.forwarding = forwarding
        self.accessLog = accessLog
        self.demoBackend = demoBackend
        self.filter = filter
        self.degradation = degradation
        self.shutdownGracePeriod = shutdownGracePeriod
    }
}

/// One listening socket.
public struct ListenerConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Expect a PROXY protocol (v1 or v2) header first; believed only from trusted networks.
    public var proxyProtocol: Bool
    /// Terminate TLS here (HTTPS, and HTTP/2 when offered by ALPN); nil serves plain HTTP/1.1.
    public var tls: ListenerTLSConfiguration?
    /// A plain listener also takes cleartext HTTP/2 with prior knowledge (h2c: a connection that
    /// opens with the HTTP/2 preface), with the HTTP/2 limits of a TLS listener's defaults.
    public var h2c: Bool

    public init(host: String, port: Int, proxyProtocol: Bool = false, tls: ListenerTLSConfiguration? = nil, h2c: Bool = false) {
        self.host = host
        self.port = port
        self.proxyProtocol = proxyProtocol
        self.tls = tls
        self.h2c = h2c
    }
}

/// The admin listener. State-changing calls need `token` (from the file or `LEVEE_ADMIN_TOKEN`).
public struct AdminConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var token: String?

    public init(host: String = "127.0.0.1", port: Int = 9901, token: String? = nil) {
        self.host = host
        self.port = port
        self.token = token
    }
}

/// A route: which requests go to which pool.
public struct RouteConfiguration: Sendable, Equatable {
    public var name: String
    /// Exact host to match (without port), or nil for any host.
    public var host: String?
    public var pathPrefix: String
    /// Name of an entry in `ProxyConfiguration.upstreams`.
    public var upstream: String
    /// Replace `Host` toward the upstream; nil passes the client's `Host` through.
    public var hostRewrite: String?
    /// Overrides `LimitsConfiguration.maxBodyBytes` for this route.
    public var maxBodyBytes: Int?
    /// Critical routes stay served in the `survival` tier.
    public var critical: Bool

    public init(
        name: String, host: String? = nil, pathPrefix: String = "/", upstream: String,
        hostRewrite: String? = nil, maxBodyBytes: Int? = nil, critical: Bool = false
    ) {
        self.name = name
        self.host = host
        self.pathPrefix = pathPrefix
        self.upstream = upstream
        self.hostRewrite = hostRewrite
        self.maxBodyBytes = maxBodyBytes
        self.critical = critical
    }
}

/// A pool of interchangeable backends.
public struct UpstreamPoolConfiguration: Sendable, Equatable {
    public enum Balance: String, Sendable, Equatable { case roundRobin = "round-robin", leastInFlight = "least-in-flight" }

    public var name: String
    public var backends: [BackendAddress]
    public var balance: Balance
    /// Consecutive failures after which a backend is ejected (passive health).
    public var maxFailures: Int
    /// How long an ejected backend rests before it is probed again.
    public var ejectionTime: TimeAmount
    /// Retries of idempotent requests that never reached a backend.
    public var maxRetries: Int
    /// Idle keep-alive connections kept per event loop per backend.
    public var maxIdlePerLoop: Int
    /// Adaptive concurrency limit and class-ordered queue toward the pool; nil: unlimited.
    public var concurrency: ConcurrencyConfiguration?
    /// How the proxy checks the certificates of this pool's TLS backends (`https://` addresses,
    /// or every backend when the pool says `tls = true`).
    public var tls: UpstreamTLSConfiguration

    public init(
        name: String, backends: [BackendAddress], balance: Balance = .roundRobin, maxFailures: Int = 3,
        ejectionTime: TimeAmount = .seconds(10), maxRetries: Int = 1, maxIdlePerLoop: Int = 64,
        concurrency: ConcurrencyConfiguration? = nil,
        tls: UpstreamTLSConfiguration = UpstreamTLSConfiguration()
    ) {
        self.concurrency = concurrency
        self.tls = tls
        self.name = name
        self.backends = backends
        self.balance = balance
        self.maxFailures = maxFailures
        self.ejectionTime = ejectionTime
        self.maxRetries = maxRetries
        self.maxIdlePerLoop = maxIdlePerLoop
    }
}

/// host:port of a backend, spoken to in HTTP/1.1, over TLS when `tls` is set.
public struct BackendAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Connections to this backend start with a TLS handshake (an `https://` address).
    public var tls: Bool
    public init(host: String, port: Int, tls: Bool = false) {
        self.host = host
        self.port = port
        self.tls = tls
    }
    public var description: String { tls ? "https://\(host):\(port)" : "\(host):\(port)" }
}

/// Certificate checks toward TLS backends. Verification is on by default: the backend's chain
/// must lead to `caFile` (or the system's trust store) and name `serverName` (or the address
/// dialled: the host name, or the IP address when the backend is given as one).
public struct UpstreamTLSConfiguration: Sendable, Equatable {
    /// PEM bundle of the certificate authorities trusted for the backends; nil: the system's.
    public var caFile: String?
    /// Name sent in SNI and checked against the certificate; nil: the backend's host name
    /// (no SNI for an IP address, whose certificate must then name the IP).
    public var serverName: String?
    /// Check the chain and name; false accepts any certificate (only for a backend on a trusted
    /// network whose certificate cannot be checked).
    public var verify: Bool

    public init(caFile: String? = nil, serverName: String? = nil, verify: Bool = true) {
        self.caFile = caFile
        self.serverName = serverName
        self.verify = verify
    }
}

/// Hardening limits, on by default.
public struct LimitsConfiguration: Sendable, Equatable {
    public var maxRequestLineBytes: Int = 8 * 1024
    public var maxHeaderBytes: Int = 32 * 1024
    public var maxHeaderCount: Int = 100
    public var maxBodyBytes: Int = 10 * 1024 * 1024
    /// Whole header block must arrive within this (slowloris defence).
    public var headerTimeout: TimeAmount = .seconds(10)
    /// A body slower than this many bytes/s (averaged after the first second) is cut off.
    public var minBodyBytesPerSecond: Int = 1024
    public var maxConnectionsPerAddress: Int = 256
    public var maxConnections: Int = 16_384
    public init() {}
}

/// Timeouts (all must be positive).
public struct TimeoutsConfiguration: Sendable, Equatable {
    public var connect: TimeAmount = .seconds(2)
    public var responseHeader: TimeAmount = .seconds(30)
    public var idle: TimeAmount = .seconds(60)
    public var request: TimeAmount = .seconds(120)
    public init() {}
}

/// Headers the proxy adds toward the upstream.
public struct ForwardingConfiguration: Sendable, Equatable {
    public enum XForwardedFor: String, Sendable, Equatable { case append, replace, off }
    public var xForwardedFor: XForwardedFor = .append
    public var xForwardedProto: Bool = true
    /// Value of the `Via` pseudonym, or nil to not add `Via`.
    public var via: String? = "levee"
    public init() {}
}

/// Access log as JSON lines.
public struct AccessLogConfiguration: Sendable, Equatable {
    /// A file path, or "-" for standard output.
    public var path: String
    public init(path: String) { self.path = path }
}

/// The built-in demo backend (answers small pages, `/slow`, `/bytes/N`, `/echo`).
public struct DemoBackendConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Requests per second the backend completes (see ``DemoCapacity``); nil: as fast as it can.
    public var capacity: Int?
    /// With a capacity: the least time each request takes.
    public var serviceTime: TimeAmount
    /// With a capacity: the longest a request may queue before it is refused with 503.
    public var maxQueue: TimeAmount
    public init(host: String = "127.0.0.1", port: Int = 8081, capacity: Int? = nil,
                serviceTime: TimeAmount = .zero, maxQueue: TimeAmount = .seconds(1)) {
        self.host = host
        self.port = port
        self.capacity = capacity
        self.serviceTime = serviceTime
        self.maxQueue = maxQueue
    }
}
