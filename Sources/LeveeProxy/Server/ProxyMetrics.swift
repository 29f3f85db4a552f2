import CoreMetrics

/// Metric objects of the data path, created once (per server) and shared by all event loops.
/// Per-(route, status) request counters are cached per event loop in `LoopContext`.
final class ProxyMetrics: Sendable {
    static let requestsLabel = "levee_requests_total"
    static let upstreamLatencyLabel = "levee_upstream_latency_seconds"
    static let openConnectionsLabel = "levee_open_connections"
    static let bytesInLabel = "levee_bytes_received_total"
    static let bytesOutLabel = "levee_bytes_sent_total"
    static let rejectedConnectionsLabel = "levee_connections_rejected_total"

    let upstreamLatency: CoreMetrics.Timer
    let openConnections: Meter
    let bytesIn: Counter
    let bytesOut: Counter
    let rejectedConnections: Counter
    /// The factory current when the server was made (the global one, or a task-local one in
    /// tests); counters created later on event loops use it too.
    private let factory: any MetricsFactory

    init() {
        let factory = MetricsSystem.factory
        self.factory = factory
        upstreamLatency = CoreMetrics.Timer(label: Self.upstreamLatencyLabel, dimensions: [], factory: factory)
        openConnections = Meter(label: Self.openConnectionsLabel, factory: factory)
        bytesIn = Counter(label: Self.bytesInLabel, factory: factory)
        bytesOut = Counter(label: Self.bytesOutLabel, factory: factory)
        rejectedConnections = Counter(label: Self.rejectedConnectionsLabel, factory: factory)
    }

    func requestCounter(route: String, status: UInt) -> Counter {
        Counter(label: Self.requestsLabel, dimensions: [("route", route), ("status", String(status))], factory: factory)
    }
}
