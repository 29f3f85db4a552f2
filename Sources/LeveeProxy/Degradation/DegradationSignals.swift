/// What the tier controller reads every tick, measured over the last tick (rates) or smoothed
/// over a few (latency average, error rate). Units: seconds and fractions.
public struct DegradationSignals: Sendable, Equatable, Codable {
    /// Requests received per second over the last tick.
    public var requestRate: Double
    /// `requestRate / capacity_rps` (nil when no capacity is configured).
    public var load: Double?
    /// Moving average (EWMA) of the upstream response-header latency, in seconds.
    public var latencyAverage: Double
    /// 99th percentile of upstream latency over the last tick, in seconds (0 without samples).
    public var latencyP99: Double
    /// Moving average of the fraction of upstream exchanges that failed (5xx, unreachable, timeout).
    public var errorRate: Double
    /// Requests received whose response has not completed.
    public var inFlight: Int
    /// Largest delay, over the event loops, between scheduling a task and running it, in seconds.
    public var loopLag: Double

    public init(
        requestRate: Double = 0, load: Double? = nil, latencyAverage: Double = 0, latencyP99: Double = 0,
        errorRate: Double = 0, inFlight: Int = 0, loopLag: Double = 0
    ) {
        self.requestRate = requestRate
        self.load = load
        self.latencyAverage = latencyAverage
        self.latencyP99 = latencyP99
        self.errorRate = errorRate
        self.inFlight = inFlight
        self.loopLag = loopLag
    }

    enum CodingKeys: String, CodingKey {
        case requestRate = "request_rate"
        case load
        case latencyAverage = "latency_avg_seconds"
        case latencyP99 = "latency_p99_seconds"
        case errorRate = "error_rate"
        case inFlight = "in_flight"
        case loopLag = "loop_lag_seconds"
    }

    /// The value of `signal` (nil when it is not measured, e.g. `load` without a capacity).
    public subscript(signal: TierThresholds.Signal) -> Double? {
        switch signal {
        case .load: load
        case .latencyAverage: latencyAverage
        case .latencyP99: latencyP99
        case .errorRate: errorRate
        case .inFlight: Double(inFlight)
        case .loopLag: loopLag
        }
    }
}
