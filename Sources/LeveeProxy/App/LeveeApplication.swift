import Levee
import Logging
import CoreMetrics
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization

/// The whole `levee serve` process: the event loops, the proxy, the admin listener, the demo
/// backend and the access log, run as `Service`s in one `ServiceGroup`.
///
/// - SIGTERM / SIGINT: graceful shutdown in reverse order of start — the admin listener closes,
///   the proxy stops accepting and drains in-flight requests for up to `shutdown_grace`, the
///   access log flushes, the demo backend stops.
/// - SIGHUP and `POST /admin/reload`: `reload()` re-reads the file, validates it and swaps the
///   configuration atomically, or keeps the old one and says why. Listeners, workers, the admin
///   and demo addresses, `shutdown_grace` and the access log path are fixed at start: a reload
///   that changes them is refused (restart instead).
public final class LeveeApplication: Sendable {
    /// Builds the request filter of a configuration; on reload `previous` is the filter being
    /// replaced (so that state such as bans can carry over). `tiers` is the process's published
    /// degradation tier, for filters that apply tier policies.
    public typealias FilterFactory = @Sendable (
        _ configuration: ProxyConfiguration, _ previous: (any RequestFilter)?, _ tiers: TierGate
    ) -> any RequestFilter

    /// The flood filter when the configuration has any filter settings or degradation tiers
    /// (keeping the bans of the previous one across reloads), otherwise a filter that forwards
    /// everything.
    public static let defaultFilter: FilterFactory = { configuration, previous, tiers in
        if configuration.filter == FilterConfiguration() && !configuration.degradation.enabled { return AllowAllFilter() }
        return FloodFilter(configuration: configuration.filter, bans: (previous as? FloodFilter)?.bans,
                           degradation: configuration.degradation, tiers: tiers)
    }

    /// Process-level choices that are not part of the configuration file.
    public struct Options: Sendable {
        /// Trap SIGTERM/SIGINT (graceful shutdown) and SIGHUP (reload). Tests turn this off.
        public var handleSignals: Bool
        public init(handleSignals: Bool = true) { self.handleSignals = handleSignals }
    }

    public let source: ConfigurationSource
    public let proxy: ProxyServer
    public let admin: AdminServer?
    public let demo: DemoBackend?
    public let accessLogger: AccessLogger?
    /// The degradation tier controller (idle while `[degradation]` is absent).
    public let degradation: DegradationService
    /// Add admin endpoints here (`application.adminRouter.add(.GET, "/admin/top") { ... }`).
    public let adminRouter: AdminRouter
    public let registry: PrometheusCollectorRegistry
    private let group: MultiThreadedEventLoopGroup
    private let serviceGroup: ServiceGroup
    private let logger: Logger
    /// Logs what operators change through the admin API.
    var adminLogger: Logger { logger }
    private let makeFilter: FilterFactory
    private let startedAt: ContinuousClock.Instant
    private let state: Mutex<State>
    private let statusSections = Mutex<[String: @Sendable () -> any Encodable & Sendable]>([:])
    private let reloadsApplied: CoreMetrics.Counter
    private let reloadsRejected: CoreMetrics.Counter

    private struct State {
        var configuration: ProxyConfiguration
        var filter: any RequestFilter
        var applied = 0
        var rejected = 0
        var last: ReloadOutcome?
    }

    /// Loads the configuration (throwing every error if it is invalid) and builds every part;
    /// nothing is bound until `start()` or `run()`.
    ///
    /// - Parameters:
    ///   - registry: `/metrics` emits it; the executable bootstraps `MetricsSystem` with a
    ///     `PrometheusMetricsFactory` over the same registry.
    public init(
        source: ConfigurationSource, registry: PrometheusCollectorRegistry, logger: Logger,
        options: Options = Options(), makeFilter: @escaping FilterFactory = LeveeApplication.defaultFilter
    ) throws(ConfigurationErrors) {
        let configuration: ProxyConfiguration
        switch source {
        case .file(let path): configuration = try ProxyConfiguration.load(file: path)
        case .commandLine(let fixed): configuration = fixed
        }
        self.source = source
        self.registry = registry
        self.logger = logger
        self.makeFilter = makeFilter
        self.startedAt = .now
        let tierGate = TierGate()
        let filter = makeFilter(configuration, nil, tierGate)
        self.state = Mutex(State(configuration: configuration, filter: filter))
        self.reloadsApplied = CoreMetrics.Counter(label: "levee_config_reloads_total", dimensions: [("result", "applied")])
        self.reloadsRejected = CoreMetrics.Counter(label: "levee_config_reloads_total", dimensions: [("result", "rejected")])

        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.workers ?? System.coreCount)
        self.group = group
        let accessLogger = configuration.accessLog.map { AccessLogger(path: $0.path, logger: logger) }
        self.accessLogger = accessLogger
        self.proxy = ProxyServer(
            configuration: configuration, filter: filter, group: group,
            logger: logger.with(label: "proxy"), accessLogger: accessLogger)
        self.degradation = DegradationService(
            configuration: configuration.degradation, proxy: proxy, gate: tierGate, logger: logger.with(label: "degradation"))
        self.demo = configuration.demoBackend.map { DemoBackend(configuration: $0, group: group, logger: logger) }
        let router = AdminRouter()
        self.adminRouter = router
        self.admin = configuration.admin.map {
            AdminServer(host: $0.host, port: $0.port, token: $0.token, router: router, group: group, logger: logger)
        }

        // Shutdown runs in reverse order: admin first, then the proxy drains, then the access
        // log flushes what the drain produced, then the demo backend the proxy forwarded to.
        var services: [any Service] = []
        if let demo { services.append(demo) }
        if let accessLogger { services.append(accessLogger) }
        services.append(proxy)
        services.append(degradation)
        if let admin { services.append(admin) }
        let reloadHook = ReloadHook()
        if options.handleSignals { services.append(ReloadSignalService(hook: reloadHook)) }
        self.serviceGroup = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: options.handleSignals ? [.sigterm, .sigint] : [],
                logger: logger))
        registerAdminEndpoints()
        reloadHook.set { [weak self] in _ = self?.reload() }
    }

    /// The configuration serving new requests now.
    public var configuration: ProxyConfiguration { state.withLock { $0.configuration } }

    /// The request filter serving new requests now.
    public var filter: any RequestFilter { state.withLock { $0.filter } }

    /// Binds the demo backend, the proxy listeners and the admin listener (in that order), so
    /// that their addresses are known before `run()`. Fails if any address is taken.
    public func start() async throws {
        if let accessLogger { try accessLogger.open() }
        if let demo { try await demo.start() }
        try await proxy.start()
        if let admin { try await admin.start() }
    }

    /// Serves until graceful shutdown (a signal, or `triggerGracefulShutdown()`), then stops the
    /// event loops.
    public func run() async throws {
        do {
            try await start()
            try await serviceGroup.run()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    /// Starts the same graceful shutdown as SIGTERM.
    public func triggerGracefulShutdown() async {
        await serviceGroup.triggerGracefulShutdown()
    }

    /// Adds a section to `GET /status` (e.g. the flood filter's tier and top talkers).
    public func addStatusSection(_ name: String, _ make: @escaping @Sendable () -> any Encodable & Sendable) {
        statusSections.withLock { $0[name] = make }
    }

    /// Re-reads the configuration file, validates it and applies it atomically; on any problem
    /// the running configuration stays and the outcome lists the reasons (also logged).
    @discardableResult
    public func reload() -> ReloadOutcome {
        // The lock is held across load and apply so that two reloads never interleave.
        let outcome = state.withLock { state -> ReloadOutcome in
            let outcome = reloadLocked(&state)
            state.last = outcome
            if outcome.isApplied { state.applied += 1 } else { state.rejected += 1 }
            return outcome
        }
        switch outcome {
        case .applied(let routes, let upstreams):
            reloadsApplied.increment()
            logger.notice("configuration reloaded", metadata: ["routes": "\(routes)", "upstreams": "\(upstreams)"])
        case .rejected(let errors):
            reloadsRejected.increment()
            for error in errors { logger.error("reload refused, old configuration kept: \(error)") }
        }
        return outcome
    }

    private func reloadLocked(_ state: inout State) -> ReloadOutcome {
        guard case .file(let path) = source else {
            return .rejected([ConfigurationError(
                file: "command line", line: nil, field: "source",
                message: "started from command-line flags: there is no file to reload (use --config)")])
        }
        let next: ProxyConfiguration
        let sourceMap: TOMLSourceMap
        do {
            (next, sourceMap) = try ProxyConfiguration.loadWithSourceMap(file: path)
        } catch {
            return .rejected(error.errors)
        }
        let fixed = Self.fixedAtStartChanges(from: state.configuration, to: next).map {
            ConfigurationError(file: path, line: sourceMap.nearestLine(of: $0.field), field: $0.field, message: $0.message)
        }
        if !fixed.isEmpty { return .rejected(fixed) }
        let filter = makeFilter(next, state.filter, degradation.gate)
        proxy.apply(configuration: next, filter: filter)
        degradation.apply(next.degradation)
        state.filter = filter
        admin?.setToken(next.admin?.token)
        accessLogger?.reopen()
        state.configuration = next
        return .applied(routes: next.routes.count, upstreams: next.upstreams.count)
    }

    /// What a reload cannot change, with the message telling the operator to restart.
    static func fixedAtStartChanges(from old: ProxyConfiguration, to new: ProxyConfiguration) -> [ProxyConfiguration.Problem] {
        var problems: [ProxyConfiguration.Problem] = []
        func refuse(_ field: String, _ what: String, _ before: String, _ after: String) {
            problems.append(.init(field: field, message: "\(what) cannot change on reload (\(before) → \(after)); restart levee to change it"))
        }
        let describeListeners = { (c: ProxyConfiguration) in
            c.listeners.map { "\($0.host):\($0.port)\($0.proxyProtocol ? " proxy_protocol" : "")\($0.tls != nil ? " tls" : "")" }
                .joined(separator: ", ")
        }
        // TLS certificates and settings may change (the proxy re-reads them); turning TLS on or off may not.
        if old.listeners.map(\.reloadIdentity) != new.listeners.map(\.reloadIdentity) { refuse("listen", "listeners", describeListeners(old), describeListeners(new)) }
        if old.workers != new.workers {
            refuse("server.workers", "workers", old.workers.map(String.init) ?? "auto", new.workers.map(String.init) ?? "auto")
        }
        if old.shutdownGracePeriod != new.shutdownGracePeriod {
            refuse("server.shutdown_grace", "shutdown_grace",
                   ConfigurationUnits.format(old.shutdownGracePeriod), ConfigurationUnits.format(new.shutdownGracePeriod))
        }
        let adminAddress = { (c: ProxyConfiguration) in c.admin.map { "\($0.host):\($0.port)" } ?? "disabled" }
        if adminAddress(old) != adminAddress(new) { refuse("admin.address", "the admin listener", adminAddress(old), adminAddress(new)) }
        let demoAddress = { (c: ProxyConfiguration) in c.demoBackend.map { "\($0.host):\($0.port)" } ?? "disabled" }
        if demoAddress(old) != demoAddress(new) { refuse("demo.address", "the demo backend", demoAddress(old), demoAddress(new)) }
        let logPath = { (c: ProxyConfiguration) in c.accessLog?.path ?? "disabled" }
        if logPath(old) != logPath(new) { refuse("access_log.path", "the access log path", logPath(old), logPath(new)) }
        return problems
    }

    /// The `/status` document.
    public func statusReport() -> StatusReport {
        let (applied, rejected, last) = state.withLock { ($0.applied, $0.rejected, $0.last) }
        let proxyStatus = proxy.statusSnapshot()
        let sections = statusSections.withLock { $0 }.mapValues { $0() }
        return StatusReport(
            version: LeveeVersion.current,
            uptimeSeconds: Self.seconds(ContinuousClock.now - startedAt),
            configFile: source.file,
            listeners: proxyStatus.listeners,
            admin: admin?.localAddress.map(Self.describe),
            demoBackend: demo?.localAddress.map(Self.describe),
            reloads: .init(applied: applied, rejected: rejected, last: last),
            proxy: proxyStatus,
            sections: sections)
    }

    private func registerAdminEndpoints() {
        adminRouter.addMetrics(registry: registry) { [weak self] in self?.filterMetricsText() ?? "" }
        adminRouter.addHealth()
        adminRouter.add(.GET, "/status") { [weak self] _ in
            guard let self else { return .error(.serviceUnavailable, "shutting down") }
            return .json(self.statusReport())
        }
        adminRouter.add(.POST, "/admin/reload", requiresToken: true) { [weak self] _ in
            guard let self else { return .error(.serviceUnavailable, "shutting down") }
            let outcome = self.reload()
            return .json(outcome, status: outcome.isApplied ? .ok : .unprocessableEntity)
        }
        registerFilterEndpoints()
        registerDegradationEndpoints()
    }

    static func describe(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

extension Logger {
    /// A copy with another label, for the parts of the application.
    func with(label: String) -> Logger {
        var copy = Logger(label: label, factory: { _ in self.handler })
        copy.logLevel = logLevel
        return copy
    }
}
