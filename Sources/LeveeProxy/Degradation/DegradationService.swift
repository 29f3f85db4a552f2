import CoreMetrics
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Runs the tier controller in the proxy: every `tick` it collects the event loops' signals,
/// ticks the `TierController`, publishes the tier through the `TierGate` the flood filter reads,
/// and updates the metrics (`levee_tier`, `levee_tier_transitions_total{from,to}`,
/// `levee_requests_shed_total{class,reason="tier"}`). Operators pin and unpin through the admin
/// API. With degradation off it stays idle (the tier is `normal`).
public final class DegradationService: Service, Sendable {
    /// The published tier; hand it to the filters.
    public let gate: TierGate
    private let proxy: ProxyServer
    private let collector: SignalCollector
    private let logger: Logger
    private let factory: any MetricsFactory
    private let tierGauge: Gauge
    private let shedCounters: [CoreMetrics.Counter]
    private let state: Mutex<State>

    private struct State {
        var controller: TierController
        var aggregator: SignalAggregator
        var lastTick: NIODeadline
        var publishedShed: [Int]
        var transitionCounters: [String: CoreMetrics.Counter] = [:]
    }

    /// The reason label of requests shed by the tier policy.
    public static let shedReason = "tier"

    public init(configuration: DegradationConfiguration, proxy: ProxyServer, gate: TierGate = TierGate(), logger: Logger) {
        self.gate = gate
        self.proxy = proxy
        self.collector = SignalCollector(loops: proxy.loopCount)
        self.logger = logger
        let factory = MetricsSystem.factory
        self.factory = factory
        self.tierGauge = Gauge(label: "levee_tier", factory: factory)
        self.shedCounters = ClientClass.allCases.map {
            CoreMetrics.Counter(label: "levee_requests_shed_total", dimensions: [("class", $0.rawValue), ("reason", Self.shedReason)], factory: factory)
        }
        self.state = Mutex(State(
            controller: TierController(configuration: configuration),
            aggregator: SignalAggregator(smoothing: configuration.smoothing, capacityRPS: configuration.capacityRPS),
            lastTick: .now(), publishedShed: Array(repeating: 0, count: ClientClass.allCases.count)))
        tierGauge.record(0)
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    let tick = self.state.withLock { $0.controller.configuration.tick }
                    try await Task.sleep(for: tick)
                    self.tick()
                }
            }
        } catch {
            return  // only the sleep throws: cancelled at shutdown
        }
    }

    /// One tick: collect, decide, publish. Called by `run()`; public for tools that drive it.
    public func tick(now: NIODeadline = .now()) {
        let (sample, lag) = collector.drain(now: now)
        proxy.probeLoops(into: collector)
        let inFlight = proxy.inFlightRequestCount
        let shed = gate.shedCounts()
        let (tier, transition, shedDeltas) = state.withLock { state -> (DegradationTier, TierTransition?, [Int]) in
            let elapsed = UInt64(max(0, (now - state.lastTick).nanoseconds))
            state.lastTick = now
            var deltas: [Int] = []
            for c in ClientClass.allCases {
                let total = shed[c] ?? 0
                deltas.append(total - state.publishedShed[c.rank])
                state.publishedShed[c.rank] = total
            }
            guard state.controller.configuration.enabled else { return (.normal, nil, deltas) }
            let signals = state.aggregator.signals(
                from: sample, elapsedNanoseconds: elapsed, inFlight: inFlight, loopLagNanoseconds: lag)
            let transition = state.controller.tick(now: now.uptimeNanoseconds, signals: signals)
            if let transition { self.countTransition(transition, &state) }
            return (state.controller.tier, transition, deltas)
        }
        for (rank, delta) in shedDeltas.enumerated() where delta > 0 { shedCounters[rank].increment(by: Int64(delta)) }
        publish(tier)
        if let transition { log(transition) }
    }

    /// Forces `tier` until `unpin()` (admin API).
    @discardableResult
    public func pin(_ tier: DegradationTier) -> TierTransition? {
        let (current, transition) = state.withLock { state -> (DegradationTier, TierTransition?) in
            let transition = state.controller.pin(tier, now: NIODeadline.now().uptimeNanoseconds)
            if let transition { countTransition(transition, &state) }
            return (state.controller.tier, transition)
        }
        publish(current)
        logger.notice("degradation tier pinned", metadata: ["tier": "\(tier)"])
        return transition
    }

    /// Lifts the pin; false when none was set (admin API).
    @discardableResult
    public func unpin() -> Bool {
        let lifted = state.withLock { $0.controller.unpin(now: NIODeadline.now().uptimeNanoseconds) }
        if lifted { logger.notice("degradation tier unpinned") }
        return lifted
    }

    /// New thresholds and policies on reload (the tier and the pin stay; off publishes `normal`).
    public func apply(_ configuration: DegradationConfiguration) {
        state.withLock { state in
            state.controller.apply(configuration)
            state.aggregator.smoothing = configuration.smoothing
            state.aggregator.capacityRPS = configuration.capacityRPS
        }
        if !configuration.enabled { publish(.normal) }
    }

    /// The tier in force now.
    public var tier: DegradationTier { state.withLock { $0.controller.tier } }

    /// What `/status` and `GET /admin/tier` show.
    public func status() -> DegradationStatus {
        let now = NIODeadline.now().uptimeNanoseconds
        let shed = gate.shedCounts()
        return state.withLock { state in
            let controller = state.controller
            return DegradationStatus(
                enabled: controller.configuration.enabled, tier: controller.tier, pinned: controller.pinned != nil,
                automaticTier: controller.automaticTier, signals: controller.lastSignals,
                lastMove: controller.lastMove.map { DegradationStatus.Move($0, now: now) },
                shed: Dictionary(uniqueKeysWithValues: shed.map { ($0.key.rawValue, $0.value) }))
        }
    }

    private func publish(_ tier: DegradationTier) {
        gate.publish(tier)
        tierGauge.record(tier.level)
    }

    private func countTransition(_ transition: TierTransition, _ state: inout State) {
        let key = "\(transition.from.rawValue)>\(transition.to.rawValue)"
        let counter = state.transitionCounters[key] ?? CoreMetrics.Counter(
            label: "levee_tier_transitions_total",
            dimensions: [("from", transition.from.rawValue), ("to", transition.to.rawValue)], factory: factory)
        state.transitionCounters[key] = counter
        counter.increment()
    }

    private func log(_ transition: TierTransition) {
        let metadata: Logger.Metadata = ["from": "\(transition.from)", "to": "\(transition.to)", "reason": "\(transition.reason)"]
        if transition.to > transition.from {
            logger.warning("degradation tier up", metadata: metadata)
        } else {
            logger.notice("degradation tier down", metadata: metadata)
        }
    }
}
