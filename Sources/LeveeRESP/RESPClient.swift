import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// A small Redis client: one pipelined connection, typed errors, timeouts and reconnects.
///
/// - Commands are pipelined: any number may be in flight on the connection; replies are
///   matched in order (``RESPCommandHandler``). Sending never blocks: it returns a future (or
///   suspends an async caller) and does its work on the client's event loop.
/// - Every command has a timeout (``RESPClientConfiguration/commandTimeout``); on expiry it
///   fails with ``RESPError/timeout`` and the connection is re-opened.
/// - A lost or refused connection is re-established in the background with exponential backoff
///   and jitter (``RESPBackoff``). While waiting to reconnect, commands fail at once with
///   ``RESPError/notConnected`` so that callers fall back instead of queueing behind a dead server;
///   commands sent while a connection attempt is under way wait for it (bounded).
///
/// ```swift
/// let client = RESPClient(configuration: .init(host: "127.0.0.1", port: 6379), eventLoopGroup: group)
/// try await client.connect().get()
/// let pong = try await client.send(["PING"])          // or client.submit(["PING"]) for a future
/// ```
public final class RESPClient: Sendable {
    /// Connection parameters.
    public let configuration: RESPClientConfiguration
    /// The event loop that owns the connection and the client's state.
    public let eventLoop: any EventLoop

    private let state: NIOLoopBoundBox<ConnectionState>
    private let counters = RESPClientCounters()
    private let logger: Logger
    /// The TLS context of `configuration.tls`, made once (or why it could not be).
    private let sslContext: Result<NIOSSLContext, any Error>?

    private enum Phase: Sendable {
        case idle
        case connecting(queued: [RESPRequest])
        case connected(any Channel)
        case waitingToReconnect
        case shutdown
    }

    private struct ConnectionState: Sendable {
        var phase: Phase = .idle
        /// Consecutive failed connection attempts (drives the backoff).
        var failures = 0
        var reconnectTask: Scheduled<Void>?
        var connectWaiters: [EventLoopPromise<Void>] = []
    }

    /// A client for the server in `configuration`, on one event loop of `eventLoopGroup`.
    /// It does not connect until ``connect()`` or the first command.
    public init(configuration: RESPClientConfiguration, eventLoopGroup: any EventLoopGroup,
                logger: Logger = Logger(label: "levee.redis")) {
        self.configuration = configuration
        self.eventLoop = eventLoopGroup.next()
        self.logger = logger
        self.state = .makeBoxSendingValue(ConnectionState(), eventLoop: eventLoop)
        self.sslContext = configuration.tls.map { tls in Result { try NIOSSLContext(configuration: tls) } }
    }

    /// The counters so far, safe to read from any thread.
    public var statistics: RESPClientStatistics { counters.snapshot }

    /// Starts connecting (if not yet connected) and completes when a connection is up, or fails
    /// with the first attempt's error. After a failure the client keeps retrying in the background.
    public func connect() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let promise = self.eventLoop.makePromise(of: Void.self)
            switch self.state.value.phase {
            case .connected:
                promise.succeed(())
            case .shutdown:
                promise.fail(RESPError.shutdown)
            case .connecting:
                self.state.value.connectWaiters.append(promise)
            case .idle, .waitingToReconnect:
                self.state.value.connectWaiters.append(promise)
                self.state.value.reconnectTask?.cancel()
                self.state.value.reconnectTask = nil
                self.startConnecting(queued: [])
            }
            return promise.futureResult
        }
    }

    /// Sends `command` (an array of bulk strings); the future completes with its reply.
    /// For callers that must not suspend (the limiter's hot path hands work off this way).
    public func submit(_ command: RESPValue) -> EventLoopFuture<RESPValue> {
        let promise = eventLoop.makePromise(of: RESPValue.self)
        let request = RESPRequest(command: command, promise: promise, timeout: TimeAmount(configuration.commandTimeout))
        let started = NIODeadline.now()
        promise.futureResult.whenComplete { [counters] result in
            counters.record(result, latencyNanoseconds: Int((NIODeadline.now() - started).nanoseconds))
        }
        if eventLoop.inEventLoop {
            enqueue(request)
        } else {
            eventLoop.execute { self.enqueue(request) }
        }
        return promise.futureResult
    }

    /// Sends a command given as text arguments (`["GET", "key"]`); the future completes with its reply.
    public func submit(_ arguments: [String]) -> EventLoopFuture<RESPValue> {
        submit(.command(arguments))
    }

    /// Sends `command` and waits for its reply without blocking a thread.
    public func send(_ command: RESPValue) async throws -> RESPValue {
        try await submit(command).get()
    }

    /// Sends a command given as text arguments and waits for its reply.
    public func send(_ arguments: [String]) async throws -> RESPValue {
        try await submit(.command(arguments)).get()
    }

    /// Closes the connection for good; commands in flight and later ones fail with ``RESPError/shutdown``.
    public func close() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let previous = self.state.value.phase
            self.state.value.phase = .shutdown
            self.state.value.reconnectTask?.cancel()
            self.state.value.reconnectTask = nil
            self.failConnectWaiters(RESPError.shutdown)
            switch previous {
            case .connected(let channel):
                return channel.close().recover { _ in }
            case .connecting(let queued):
                queued.forEach { $0.promise.fail(RESPError.shutdown) }
                return self.eventLoop.makeSucceededVoidFuture()
            default:
                return self.eventLoop.makeSucceededVoidFuture()
            }
        }
    }

    /// Closes the connection for good.
    public func close() async throws {
        try await close().get()
    }

    // MARK: - On the event loop

    private func enqueue(_ request: RESPRequest) {
        switch state.value.phase {
        case .connected(let channel):
            write(request, to: channel)
        case .connecting(var queued):
            guard queued.count < configuration.maximumQueuedWhileConnecting else {
                request.promise.fail(RESPError.notConnected)
                return
            }
            queued.append(request)
            state.value.phase = .connecting(queued: queued)
        case .idle:
            startConnecting(queued: [request])
        case .waitingToReconnect:
            request.promise.fail(RESPError.notConnected)
        case .shutdown:
            request.promise.fail(RESPError.shutdown)
        }
    }

    private func write(_ request: RESPRequest, to channel: any Channel) {
        counters.commandsSent.add(1, ordering: .relaxed)
        channel.writeAndFlush(request).whenFailure { _ in
            // Already failed by the handler if it saw the write; otherwise the channel was gone.
            request.promise.fail(RESPError.connectionClosed)
        }
    }

    private func startConnecting(queued: [RESPRequest]) {
        state.value.phase = .connecting(queued: queued)
        var tls: (context: NIOSSLContext, serverName: String?, handshake: EventLoopPromise<Void>)?
        switch sslContext {
        case .none:
            break
        case .success(let context)?:
            // SNI and the name checked: the configured one, else the host unless it is an address
            // (then the certificate must carry the address).
            let isAddress = (try? SocketAddress(ipAddress: configuration.host, port: 0)) != nil
            tls = (context, configuration.tlsServerName ?? (isAddress ? nil : configuration.host), eventLoop.makePromise())
        case .failure(let error)?:
            connectFailed(ConnectionRefused(reason: .connectFailed("TLS configuration: \(error)")))
            return
        }
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [tls] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverName))
                        try channel.pipeline.syncOperations.addHandler(RESPTLSHandshakeWaiter(promise: tls.handshake))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RESPDecoder()),
                        MessageToByteHandler(RESPEncoder()),
                        RESPCommandHandler(),
                    ])
                }
            }
        // An address literal needs no resolver (getaddrinfo runs off the loop and can queue
        // behind other work); a host name goes through NIO's resolver.
        var connecting: EventLoopFuture<any Channel>
        if let address = try? SocketAddress(ipAddress: configuration.host, port: configuration.port) {
            connecting = bootstrap.connect(to: address)
        } else {
            connecting = bootstrap.connect(host: configuration.host, port: configuration.port)
        }
        if let handshake = tls?.handshake {
            // Up only once the TLS handshake is done (within the connect timeout's budget again).
            let deadline = eventLoop.scheduleTask(in: TimeAmount(configuration.connectTimeout)) {
                handshake.fail(RESPError.connectFailed("TLS handshake timed out"))
            }
            handshake.futureResult.whenComplete { _ in deadline.cancel() }
            connecting.whenFailure { handshake.fail($0) }
            connecting = connecting.flatMap { channel in
                handshake.futureResult.map { channel }.flatMapError { error in
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        }
        connecting.hop(to: eventLoop).whenComplete { result in
            switch result {
            case .success(let channel): self.connected(channel)
            case .failure(let error): self.connectFailed(error)
            }
        }
    }

    private func connected(_ channel: any Channel) {
        guard case .connecting = state.value.phase else {
            channel.close(promise: nil)  // shut down while connecting
            return
        }
        let handshake = configuration.handshake
        guard !handshake.isEmpty else {
            ready(channel)
            return
        }
        // AUTH and SELECT go first, pipelined; commands sent meanwhile stay queued (the phase is
        // still `connecting`) so that none reaches Redis unauthenticated or in the wrong database.
        let replies = handshake.map { step in
            let promise = eventLoop.makePromise(of: RESPValue.self)
            write(RESPRequest(command: step.command, promise: promise, timeout: TimeAmount(configuration.commandTimeout)), to: channel)
            return promise.futureResult.flatMapErrorThrowing { error in
                guard case .server(_, let message)? = error as? RESPError else { throw error }
                throw ConnectionRefused(reason: .connectFailed("redis refused \(step.name): \(message)"))
            }
        }
        EventLoopFuture.whenAllSucceed(replies, on: eventLoop).whenComplete { result in
            switch result {
            case .success:
                self.ready(channel)
            case .failure(let error):
                channel.close(promise: nil)
                self.connectFailed(error)
            }
        }
    }

    /// The connection is usable: queued commands go out.
    private func ready(_ channel: any Channel) {
        guard case .connecting(let queued) = state.value.phase else {
            channel.close(promise: nil)  // shut down during the handshake
            return
        }
        logger.info("connected to redis", metadata: ["redis": "\(configuration)"])
        counters.connects.add(1, ordering: .relaxed)
        counters.connected.store(true, ordering: .relaxed)
        state.value.phase = .connected(channel)
        state.value.failures = 0
        channel.closeFuture.whenComplete { _ in self.connectionLost(channel) }
        for request in queued { write(request, to: channel) }
        let waiters = state.value.connectWaiters
        state.value.connectWaiters = []
        waiters.forEach { $0.succeed(()) }
    }

    /// A `ConnectionRefused` (a configuration problem) is logged as an error at the first failure
    /// of a streak; other failures and later retries at debug.
    private func connectFailed(_ error: any Error) {
        guard case .connecting(let queued) = state.value.phase else { return }
        counters.connectFailures.add(1, ordering: .relaxed)
        let refused = error as? ConnectionRefused
        let reason = refused?.reason ?? error as? RESPError ?? RESPError.connectFailed("\(error)")
        queued.forEach { $0.promise.fail(reason) }
        failConnectWaiters(reason)
        state.value.failures += 1
        let metadata: Logger.Metadata = ["redis": "\(configuration)", "error": "\(reason)", "failures": "\(state.value.failures)"]
        if refused != nil && state.value.failures == 1 {
            logger.error("redis refused the connection (TLS, credentials or database); check [fleet]", metadata: metadata)
        } else {
            logger.debug("cannot connect to redis", metadata: metadata)
        }
        scheduleReconnect()
    }

    private func connectionLost(_ channel: any Channel) {
        guard case .connected(let current) = state.value.phase, current === channel else { return }
        counters.connected.store(false, ordering: .relaxed)
        logger.warning("lost the redis connection", metadata: ["redis": "\(configuration.host):\(configuration.port)"])
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        state.value.phase = .waitingToReconnect
        let delay = configuration.backoff.delay(attempt: state.value.failures)
        state.value.reconnectTask = eventLoop.scheduleTask(in: TimeAmount(delay)) {
            guard case .waitingToReconnect = self.state.value.phase else { return }
            self.state.value.reconnectTask = nil
            self.startConnecting(queued: [])
        }
    }


    private func failConnectWaiters(_ error: any Error) {
        let waiters = state.value.connectWaiters
        state.value.connectWaiters = []
        waiters.forEach { $0.fail(error) }
    }
}
