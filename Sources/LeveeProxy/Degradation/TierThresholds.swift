/// The signal values that move the controller up into one tier: any one reached is enough.
/// A nil threshold ignores that signal. Units as in `DegradationSignals`.
public struct TierThresholds: Sendable, Equatable {
    /// The signals a threshold can name, with their TOML keys.
    public enum Signal: String, Sendable, CaseIterable, Codable {
        /// Request rate as a fraction of `capacity_rps` (1.0 = at capacity).
        case load
        case latencyAverage = "latency_avg"
        case latencyP99 = "latency_p99"
        case errorRate = "error_rate"
        case inFlight = "in_flight"
        case loopLag = "loop_lag"

        /// Whether the TOML value is a duration (`"200ms"`) rather than a number.
        public var isDuration: Bool { self == .latencyAverage || self == .latencyP99 || self == .loopLag }
    }

    public var load: Double?
    public var latencyAverage: Double?
    public var latencyP99: Double?
    public var errorRate: Double?
    public var inFlight: Double?
    public var loopLag: Double?

    public init(
        load: Double? = nil, latencyAverage: Double? = nil, latencyP99: Double? = nil, errorRate: Double? = nil,
        inFlight: Double? = nil, loopLag: Double? = nil
    ) {
        self.load = load
        self.latencyAverage = latencyAverage
        self.latencyP99 = latencyP99
        self.errorRate = errorRate
        self.inFlight = inFlight
        self.loopLag = loopLag
    }

    public subscript(signal: Signal) -> Double? {
        get {
            switch signal {
            case .load: load
            case .latencyAverage: latencyAverage
            case .latencyP99: latencyP99
            case .errorRate: errorRate
            case .inFlight: inFlight
            case .loopLag: loopLag
            }
        }
        set {
            switch signal {
            case .load: load = newValue
            case .latencyAverage: latencyAverage = newValue
            case .latencyP99: latencyP99 = newValue
            case .errorRate: errorRate = newValue
            case .inFlight: inFlight = newValue
            case .loopLag: loopLag = newValue
            }
        }
    }

    /// No threshold at all: the tier is never entered automatically (only by a pin).
    public var isEmpty: Bool { Signal.allCases.allSatisfy { self[$0] == nil } }

    /// The first signal at or over its threshold scaled by `scale` (1 to go up; 1 − hysteresis
    /// to decide whether it is calm enough to go down), with its value and the scaled threshold.
    public func firstCrossed(by signals: DegradationSignals, scale: Double = 1) -> TierMoveReason? {
        for signal in Signal.allCases {
            guard let threshold = self[signal], let value = signals[signal] else { continue }
            let limit = threshold * scale
            if value >= limit { return TierMoveReason(kind: .signal, signal: signal, value: value, threshold: limit) }
        }
        return nil
    }
}
