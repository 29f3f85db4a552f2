import CoreMetrics

/// The Prometheus series of one pool's concurrency gate: `levee_upstream_concurrency_limit`,
/// `levee_upstream_queue_depth` and `levee_upstream_inflight` (gauges labelled `pool`) and
/// `levee_requests_shed_total{class,reason}` (shared with the degradation tiers, reason `tier`).
/// Created once per gate, with the metrics factory current at the time (the global one, or a
/// task-local one in tests).
struct ConcurrencyMetrics: Sendable {
    static let shedLabel = "levee_requests_shed_total"
    static let limitLabel = "levee_upstream_concurrency_limit"
    static let queueDepthLabel = "levee_upstream_queue_depth"
    static let inFlightLabel = "levee_upstream_inflight"

    let limit: Meter
    let queueDepth: Meter
    let inFlight: Meter
    /// `[class rank][reason index]`.
    private let shed: [[Counter]]

    init(pool: String) {
        let factory = MetricsSystem.factory
        let dimensions = [("pool", pool)]
        limit = Meter(label: Self.limitLabel, dimensions: dimensions, factory: factory)
        queueDepth = Meter(label: Self.queueDepthLabel, dimensions: dimensions, factory: factory)
        inFlight = Meter(label: Self.inFlightLabel, dimensions: dimensions, factory: factory)
        shed = ClientClass.allCases.map { clientClass in
            ConcurrencyShedReason.allCases.map { reason in
                Counter(label: Self.shedLabel, dimensions: [("class", clientClass.rawValue), ("reason", reason.rawValue)], factory: factory)
            }
        }
    }

    func countShed(_ clientClass: ClientClass, _ reason: ConcurrencyShedReason) {
        shed[clientClass.rank][reason.index].increment()
    }

    /// Sets the gauges to a reading of the gate.
    func update(limit: Int, queueDepth: Int, inFlight: Int) {
        self.limit.set(limit)
        self.queueDepth.set(queueDepth)
        self.inFlight.set(inFlight)
    }
}
