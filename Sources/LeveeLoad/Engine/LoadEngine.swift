import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Runs a ``Scenario``: spreads each class's clients over the event loops (one per thread), starts them
/// at a common instant, waits until every client has stopped (duration, count limits) and merges what
/// each loop recorded into a ``LoadReport``.
public struct LoadEngine: Sendable {
    /// A snapshot for the live progress line.
    public struct Progress: Sendable {
        public var elapsedSeconds: Double
        public var sent: Int
        public var completed: Int
        public var errors: Int
    }

    public let scenario: Scenario
    /// Required to send anything to a target outside loopback.
    public let allowRemote: Bool

    /// An engine for `scenario`; `allowRemote` must be set explicitly for a target outside loopback.
    public init(scenario: Scenario, allowRemote: Bool = false) {
        self.scenario = scenario
        self.allowRemote = allowRemote
    }

    /// The client TLS context of an `https://` run: ALPN offers only the run's protocol (`h2` or
    /// `http/1.1`); certificates are not verified (a load generator measures a service under test;
    /// it does not authenticate it).
    static func makeTLSContext(_ scenario: Scenario) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        configuration.applicationProtocols = [scenario.protocolName]
        return try NIOSSLContext(configuration: configuration)
    }

    /// Before an HTTP/2 run: one TLS handshake with the target to learn what ALPN selects, so that a
    /// server without HTTP/2 stops the run with a clear error instead of turning every request into
    /// an error. A target that cannot be reached is left to the run (which counts refusals as usual).
    static func checkHTTP2(target: SocketAddress, context: NIOSSLContext, serverName: String?, host: String,
                           on eventLoop: any EventLoop, timeout: Int64) async throws {
        let negotiated = eventLoop.makePromise(of: String?.self)
        let connecting = ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(min(timeout, 10_000_000_000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                    try channel.pipeline.syncOperations.addHandler(ALPNProbe(promise: negotiated))
                }
            }
            .connect(to: target)
        connecting.whenFailure { negotiated.fail($0) }
        let deadline = eventLoop.scheduleTask(in: .nanoseconds(min(timeout, 10_000_000_000))) {
            negotiated.fail(ChannelError.connectTimeout(.nanoseconds(timeout)))
        }
        let result: Result<String?, any Error>
        do {
            result = .success(try await negotiated.futureResult.get())
        } catch {
            result = .failure(error)
        }
        deadline.cancel()
        if let channel = try? await connecting.get() { try? await channel.close() }
        if case .success(let selected) = result, selected != "h2" {
            throw LoadError.http2NotNegotiated(host, selected)
        }
    }

    /// Runs the scenario to its end. `progress` is called about once a second.
    public func run(progress: (@Sendable (Progress) -> Void)? = nil) async throws -> LoadReport {
        try scenario.validate()
        try scenario.target.checkAllowed(allowRemote: allowRemote)
        let target = try scenario.target.resolve()
        let replays = try scenario.classes.map { c -> [ClassPlan.ReplayItem]? in
            guard case .pcapReplay(let file, let speed, let port) = c.profile else { return nil }
            let requests = try CaptureReader.requests(file: file, port: port)
            guard let first = requests.first?.timestamp else { throw LoadError.capture("no HTTP request found in \(file)") }
            return requests.map {
                ClassPlan.ReplayItem(offset: Int64(Double($0.timestamp - first) / max(speed, 1e-6)),
                                     bytes: ByteBuffer(bytes: $0.bytes), isHead: $0.bytes.starts(with: Array("HEAD ".utf8)))
            }
        }
        let tlsContext = try scenario.target.tls ? Self.makeTLSContext(scenario) : nil
        let group = MultiThreadedEventLoopGroup(numberOfThreads: scenario.threads)
        defer { group.shutdownGracefully { _ in } }
        let loops = Array(group.makeIterator())
        // Before the common start instant, so that a slow handshake does not eat into the schedule.
        if scenario.http2, let tlsContext {
            try await Self.checkHTTP2(target: target, context: tlsContext, serverName: ClassPlan.serverName(scenario.target.host),
                                      host: scenario.target.authority, on: loops[0],
                                      timeout: scenario.timeout)
        }
        let runStart = Int64(NIODeadline.now().uptimeNanoseconds) + 50_000_000
        let classCount = scenario.classes.count
        let plans = scenario.classes.enumerated().map { i, c in
            ClassPlan(index: i, trafficClass: c, scenario: scenario, target: target, runStart: runStart,
                      replay: replays[i],
                      globalQuota: scenario.maxRequests.map { $0 / classCount + (i < $0 % classCount ? 1 : 0) },
                      tlsContext: tlsContext)
        }
        // Closed-loop classes of ordinary requests run on plain epoll threads (see RawConnectionLoop), as many as event loops.
        var rawResults: [(Int, EventLoopFuture<ClassStatistics>)] = []
        var rawProgress: [RawLoopProgress] = []
        #if os(Linux)
        for plan in plans where RawConnectionLoop.eligible(plan) {
            for j in 0..<min(loops.count, plan.trafficClass.connections) {
                let promise = loops[j].makePromise(of: ClassStatistics.self)
                let clients = Array(stride(from: j, to: plan.trafficClass.connections, by: loops.count))
                let counters = RawLoopProgress()
                rawProgress.append(counters)
                let thread = Thread {
                    let loop = RawConnectionLoop(plan: plan, clients: clients, progress: counters)
                    promise.succeed(loop.run())
                }
                thread.name = "levee-load-raw-\(plan.index)-\(j)"
                thread.start()
                rawResults.append((plan.index, promise.futureResult))
            }
        }
        let rawPlans = Set(rawResults.map(\.0))
        #else
        let rawPlans = Set<Int>()
        #endif
        // Each loop gets its own recorders and its share of every class's clients.
        var recorders: [[NIOLoopBound<ClassRecorder>]] = []
        var dones: [EventLoopFuture<Void>] = []
        for (j, loop) in loops.enumerated() {
            let (bound, done) = try await loop.submit {
                let recs = plans.map { _ in ClassRecorder() }
                var futures: [EventLoopFuture<Void>] = []
                for plan in plans where !rawPlans.contains(plan.index) {
                    for k in stride(from: j, to: plan.trafficClass.connections, by: loops.count) {
                        if plan.http2 {
                            let worker = HTTP2LoadWorker(plan: plan, index: k, eventLoop: loop, recorder: recs[plan.index])
                            futures.append(worker.done.futureResult)
                            worker.start()
                        } else {
                            let worker = LoadWorker(plan: plan, index: k, eventLoop: loop, recorder: recs[plan.index])
                            futures.append(worker.done.futureResult)
                            worker.start()
                        }
                    }
                }
                return (recs.map { NIOLoopBound($0, eventLoop: loop) }, EventLoopFuture.andAllSucceed(futures, on: loop))
            }.get()
            recorders.append(bound)
            dones.append(done)
        }
        let all = EventLoopFuture.andAllSucceed(dones, on: loops[0])
        let perLoopRecorders = recorders
        let rawCounters = rawProgress
        let ticker: Task<Void, Never>? = progress.map { report in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    if Task.isCancelled { break }
                    var p = Progress(elapsedSeconds: Double(Int64(NIODeadline.now().uptimeNanoseconds) - runStart) / 1e9,
                                     sent: 0, completed: 0, errors: 0)
                    for (j, loop) in loops.enumerated() {
                        let recs = perLoopRecorders[j]
                        guard let counts = try? await loop.submit({ () -> (Int, Int, Int) in
                            recs.reduce((0, 0, 0)) { ($0.0 + $1.value.stats.sent, $0.1 + $1.value.stats.completed,
                                                      $0.2 + $1.value.stats.errorCount) }
                        }).get() else { continue }
                        p.sent += counts.0
                        p.completed += counts.1
                        p.errors += counts.2
                    }
                    for counters in rawCounters {
                        p.sent += counters.sent.load(ordering: .relaxed)
                        p.completed += counters.completed.load(ordering: .relaxed)
                        p.errors += counters.errors.load(ordering: .relaxed)
                    }
                    report(p)
                }
            }
        }
        try await all.get()
        var rawStats = plans.map { _ in ClassStatistics() }
        for (index, future) in rawResults { rawStats[index].merge(try await future.get()) }
        ticker?.cancel()
        var merged = plans.map { _ in ClassStatistics() }
        for (j, loop) in loops.enumerated() {
            let recs = recorders[j]
            let perClass = try await loop.submit { recs.map { $0.value.stats } }.get()
            for i in merged.indices { merged[i].merge(perClass[i]) }
        }
        for i in merged.indices where rawPlans.contains(i) { merged[i].merge(rawStats[i]) }
        let infos = plans.map { p in
            LoadReport.ClassInfo(trafficClass: p.trafficClass,
                                 mode: p.replay != nil ? "replay" : (p.interval > 0 ? "open" : "closed"),
                                 start: p.start - runStart, stop: p.stop - runStart, runStart: runStart)
        }
        return LoadReport.make(scenario: scenario, infos: infos, stats: merged, runStart: runStart)
    }
}

/// Completes with the protocol ALPN selected once the TLS handshake is done (nil: none), or fails.
private final class ALPNProbe: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<String?>

    init(promise: EventLoopPromise<String?>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event {
            promise.succeed(negotiated)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension ALPNProbe: Sendable {}
