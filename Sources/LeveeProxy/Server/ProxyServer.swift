import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The reverse proxy's data path as a swift-service-lifecycle `Service`.
///
/// `start()` binds every listener: one listening socket per event loop per listener, all with
/// `SO_REUSEPORT`, so the kernel spreads accepted connections over the loops and each connection
/// (client side and its upstream connections) lives on one loop without locks. `run()` serves
/// until graceful shutdown, then stops accepting, lets in-flight requests finish for up to
/// `shutdownGracePeriod`, and closes what is left.
///
/// `apply(configuration:filter:)` swaps routes, pools, limits, timeouts, forwarding and the filter
/// atomically for new requests (a request in progress keeps the configuration it started with).
/// Listeners and the number of event loops are fixed at start: changing them needs a restart.
public final class ProxyServer: Service, Sendable {
    private let group: any EventLoopGroup
    private let logger: Logger
    private let listeners: [ListenerConfiguration]
    private let shutdownGracePeriod: TimeAmount
    let loops: [LoopBinding]
    private let metrics: ProxyMetrics
    private let registry = ConnectionRegistry()
    private let accessLogger: AccessLogger?
    private let tlsMetrics = TLSMetrics()
    private let state: Mutex<State>

    struct LoopBinding: Sendable {
        let eventLoop: any EventLoop
        let context: NIOLoopBoundBox<LoopContext>
        let statistics: LoopStatistics
    }

    private struct State {
        var runtime: ProxyRuntime
        var serverChannels: [any Channel] = []
        /// One per listening socket: a `ServerQuiescingHelper` tracks a single server channel.
        var quiescingHelpers: [ServerQuiescingHelper] = []
        var boundAddresses: [SocketAddress] = []
        /// TLS contexts by listener index (replaced on reload, so certificates follow the config).
        var tlsContexts: [Int: TLSServerContext] = [:]
        var started = false
        var stopped = false
    }

    /// - Parameters:
    ///   - configuration: listeners are read here once; the rest can be replaced with `apply`.
    ///   - filter: consulted once per request on the connection's event loop.
    ///   - group: its event loops serve connections (create it with `configuration.workers`
    ///     threads, or one per core).
    ///   - accessLogger: handed one entry per completed response; nil costs nothing per request.
    public init(
        configuration: ProxyConfiguration, filter: any RequestFilter = AllowAllFilter(),
        group: any EventLoopGroup, logger: Logger, accessLogger: AccessLogger? = nil
    ) {
        self.group = group
        self.accessLogger = accessLogger
        self.logger = logger
        self.listeners = configuration.listeners
        self.shutdownGracePeriod = configuration.shutdownGracePeriod
        let metrics = ProxyMetrics()
        self.metrics = metrics
        let runtime = ProxyRuntime(configuration: configuration, filter: filter, previous: nil)
        self.state = Mutex(State(runtime: runtime))
        self.loops = group.makeIterator().map { eventLoop in
            let statistics = LoopStatistics()
            // Created here, then only touched on its loop.
            let box = NIOLoopBoundBox.makeBoxSendingValue(
                LoopContext(eventLoop: eventLoop, runtime: runtime, metrics: metrics, statistics: statistics),
                eventLoop: eventLoop)
            return LoopBinding(eventLoop: eventLoop, context: box, statistics: statistics)
        }
    }

    /// Binds every listener (one `SO_REUSEPORT` socket per event loop) and returns once bound.
    public func start() async throws {
        let alreadyStarted = state.withLock { state in
            defer { state.started = true }
            return state.started
        }
        guard !alreadyStarted else { return }
        var channels: [any Channel] = []
        var helpers: [ServerQuiescingHelper] = []
        do {
            // Certificates are loaded before anything is bound: a bad file fails the start.
            var tlsContexts: [Int: TLSServerContext] = [:]
            for (index, listener) in listeners.enumerated() {
                if let tls = listener.tls { tlsContexts[index] = try TLSServerContext(configuration: tls) }
            }
            state.withLock { $0.tlsContexts = tlsContexts }
            for (index, listener) in listeners.enumerated() {
                var port = listener.port
                for binding in loops {
                    let helper = ServerQuiescingHelper(group: binding.eventLoop)
                    let channel = try await makeBootstrap(on: binding, listener: listener, index: index, quiescing: helper)
                        .bind(host: listener.host, port: port).get()
                    channels.append(channel)
                    helpers.append(helper)
                    // Port 0: the first socket picks the port, the others share it.
                    if port == 0, let bound = channel.localAddress?.port { port = bound }
                }
            }
        } catch {
            for channel in channels { try? await channel.close() }
            state.withLock { $0.started = false }  // a failed start may be retried
            throw error
        }
        let addresses = channels.enumerated().compactMap { index, channel in
            index % max(loops.count, 1) == 0 ? channel.localAddress : nil
        }
        state.withLock { state in
            state.serverChannels = channels
            state.quiescingHelpers = helpers
            state.boundAddresses = addresses
        }
        logger.info("proxy listening", metadata: ["addresses": "\(addresses.map { "\($0)" })", "loops": "\(loops.count)"])
    }

    /// The addresses the listeners are bound to, one per configured listener (actual ports).
    public var boundAddresses: [SocketAddress] { state.withLock { $0.boundAddresses } }

    /// Serves until graceful shutdown (or cancellation), then drains and closes.
    public func run() async throws {
        try await start()
        do {
            try await gracefulShutdown()
            await shutdown(gracePeriod: shutdownGracePeriod)
        } catch {
            // Cancelled: no grace.
            await shutdown(gracePeriod: .zero)
        }
    }

    /// Stops accepting, lets in-flight requests finish for up to `gracePeriod`, then closes
    /// every remaining client connection. Idle keep-alive connections close at once.
    public func shutdown(gracePeriod: TimeAmount) async {
        let alreadyStopped = state.withLock { state in
            defer { state.stopped = true }
            return state.stopped
        }
        guard !alreadyStopped else { return }
        let eventLoop = group.any()
        let (channels, helpers) = state.withLock { ($0.serverChannels, $0.quiescingHelpers) }
        let drained = helpers.map { helper in
            let promise = eventLoop.makePromise(of: Void.self)
            helper.initiateShutdown(promise: promise)
            return promise.futureResult
        }
        let forced = eventLoop.scheduleTask(in: gracePeriod) { [registry] in
            for channel in registry.openChannels { channel.close(promise: nil) }
        }
        for future in drained { try? await future.get() }
        forced.cancel()
        // Drop the helpers while the loops still run: their deinit completes a promise on its
        // loop, which must not happen after the event loop group has shut down.
        state.withLock { $0.quiescingHelpers = [] }
        for channel in channels { try? await channel.close() }
        for binding in loops {
            let context = binding.context
            try? await binding.eventLoop.submit { context.value.closeIdleConnections() }.get()
        }
        logger.info("proxy stopped")
    }

    /// Replaces routes, pools, limits, timeouts, forwarding and the filter for new requests.
    /// Backends that stay keep their health and pooled connections. Listeners are not changed.
    public func apply(configuration: ProxyConfiguration, filter: any RequestFilter) {
        let tlsContexts = reloadTLSContexts(configuration)
        let runtime = state.withLock { state in
            state.tlsContexts.merge(tlsContexts) { _, new in new }
            let runtime = ProxyRuntime(configuration: configuration, filter: filter, previous: state.runtime)
            state.runtime = runtime
            return runtime
        }
        for binding in loops {
            let context = binding.context
            binding.eventLoop.execute { context.value.runtime = runtime }
        }
    }

    /// Open connections, requests in flight and per-pool backend health.
    public func statusSnapshot() -> ProxyStatus {
        var open = 0
        var inFlight = 0
        var completed = 0
        for binding in loops {
            open += binding.statistics.openConnections.load(ordering: .relaxed)
            inFlight += binding.statistics.inFlightRequests.load(ordering: .relaxed)
            completed += binding.statistics.completedRequests.load(ordering: .relaxed)
        }
        let (runtime, addresses) = state.withLock { ($0.runtime, $0.boundAddresses) }
        let pools = runtime.pools.values.sorted { $0.name < $1.name }.map { pool in
            ProxyStatus.PoolStatus(name: pool.name, backends: pool.backends.map { backend in
                ProxyStatus.BackendStatus(
                    address: backend.address.description,
                    healthy: backend.isHealthy(maxFailures: pool.configuration.maxFailures),
                    consecutiveFailures: backend.consecutiveFailures,
                    inFlight: backend.inFlight)
            }, shedding: pool.concurrency?.status())
        }
        return ProxyStatus(
            openConnections: open, inFlightRequests: inFlight, completedRequests: completed,
            listeners: addresses.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" }, pools: pools)
    }

    /// New TLS contexts for the listeners of `configuration` that match a bound listener (same
    /// address) and terminate TLS: certificates are re-read on reload. A context that fails to
    /// build is logged and the old one keeps serving.
    private func reloadTLSContexts(_ configuration: ProxyConfiguration) -> [Int: TLSServerContext] {
        var contexts: [Int: TLSServerContext] = [:]
        for (index, listener) in listeners.enumerated() {
            guard let updated = configuration.listeners.first(where: { $0.host == listener.host && $0.port == listener.port }),
                let tls = updated.tls ?? listener.tls
            else { continue }
            do {
                contexts[index] = try TLSServerContext(configuration: tls)
            } catch {
                logger.error("TLS certificates not reloaded; the previous ones stay", metadata: ["error": "\(error)"])
            }
        }
        return contexts
    }

    private func makeBootstrap(
        on binding: LoopBinding, listener: ListenerConfiguration, index: Int, quiescing: ServerQuiescingHelper
    ) -> ServerBootstrap {
        ServerBootstrap(group: binding.eventLoop)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.configureConnectionPipeline(channel, listener: listener, index: index, binding: binding)
                }
            }
    }

    /// Builds the pipeline of one accepted client connection, on its event loop:
    /// admission (connection caps) → [PROXY protocol] → [TLS (JA4, SNI, ALPN) → HTTP/2 or]
    /// guard (timeouts) → HTTP/1.1 → proxy.
    /// No NIO pipelining handler: `ProxyConnectionHandler` orders pipelined requests itself.
    private func configureConnectionPipeline(
        _ channel: any Channel, listener: ListenerConfiguration, index: Int, binding: LoopBinding
    ) throws {
        let loop = binding.context.value
        let runtime = loop.runtime
        let limits = runtime.configuration.limits
        guard registry.admit(channel, limits: limits) else {
            metrics.rejectedConnections.increment()
            channel.close(promise: nil)
            return
        }
        let remote = channel.remoteAddress
        let statistics = binding.statistics
        let metrics = self.metrics
        statistics.openConnections.wrappingAdd(1, ordering: .relaxed)
        metrics.openConnections.increment()
        channel.closeFuture.whenComplete { [registry] _ in
            registry.release(channel, address: remote)
            statistics.openConnections.wrappingSubtract(1, ordering: .relaxed)
            metrics.openConnections.decrement()
        }
        let pipeline = channel.pipeline.syncOperations
        if listener.proxyProtocol {
            // The flood filter's PROXY protocol (v1/v2) decoder goes first and fires
            // `ProxyProtocolHeader`, which `ProxyConnectionHandler` records; a bad header closes.
            try pipeline.addHandler(ByteToMessageHandler(ProxyProtocolDecoder()))
        }
        // --- TLS termination (see TLS/TLSPipeline.swift) ---
        let onAbuse: (String) -> Void = { reason in
            binding.context.value.runtime.filter.connectionAbused(socketAddress: remote, reason: reason)
        }
        if let tlsContext = state.withLock({ $0.tlsContexts[index] }) {
            let info = TLSConnectionInfo()
            try TLSPipeline.configure(
                channel, context: tlsContext, info: info, metrics: tlsMetrics, logger: logger,
                http1: { [self] channel in try self.configureHTTP1(channel, binding: binding, tls: info) },
                http2Stream: http2StreamInitializer(binding: binding, info: info), onAbuse: onAbuse)
            return
        }
        // --- cleartext HTTP/2 with prior knowledge (h2c), beside HTTP/1.1 ---
        if listener.h2c {
            let info = TLSConnectionInfo(isTLS: false)
            let configuration = TLSPipeline.http2Configuration(
                maxConcurrentStreams: ListenerTLSConfiguration.defaultMaxConcurrentStreams,
                maxResetsPerSecond: ListenerTLSConfiguration.defaultMaxResetsPerSecond)
            try pipeline.addHandler(HTTP2PrefaceSniffer(timeout: limits.headerTimeout) { [self] http2 in
                guard http2 else { return try self.configureHTTP1(channel, binding: binding, tls: nil) }
                self.tlsMetrics.http2Connections.increment()
                try TLSPipeline.configureHTTP2(
                    channel, configuration: configuration, metrics: self.tlsMetrics, logger: self.logger,
                    stream: self.http2StreamInitializer(binding: binding, info: info), onAbuse: onAbuse)
            })
            return
        }
        try configureHTTP1(channel, binding: binding, tls: nil)
    }

    /// Puts a proxy handler on each HTTP/2 stream of a connection (`info`: its shared state).
    private func http2StreamInitializer(binding: LoopBinding, info: TLSConnectionInfo) -> (any Channel) throws -> Void {
        { [self] stream in
            let handler = ProxyConnectionHandler(
                loop: binding.context.value, guardHandler: nil, tls: info, logger: self.logger,
                accessLogger: self.accessLogger, streamDeadlines: info.streamDeadlines(on: stream.eventLoop))
            try stream.pipeline.syncOperations.addHandler(handler)
        }
    }

    /// guard (timeouts) → proxy (which parses HTTP/1 itself), on a plain connection or after a TLS handshake.
    private func configureHTTP1(_ channel: any Channel, binding: LoopBinding, tls: TLSConnectionInfo?) throws {
        let loop = binding.context.value
        let runtime = loop.runtime
        let limits = runtime.configuration.limits
        let pipeline = channel.pipeline.syncOperations
        let guardHandler = ConnectionGuardHandler(limits: limits, idleTimeout: runtime.configuration.timeouts.idle)
        try pipeline.addHandler(guardHandler)
        // No NIO codec: the guard hands the bytes to `ProxyConnectionHandler`, which parses
        // requests (HTTP1RequestParser) and frames responses (ResponseOutput) itself. Parsed
        // fields are valid by construction, so no outbound validator either.
        let handler = ProxyConnectionHandler(
            loop: loop, guardHandler: guardHandler, tls: tls, logger: logger, accessLogger: accessLogger)
        guardHandler.http = handler
        try pipeline.addHandler(handler)
    }
}
