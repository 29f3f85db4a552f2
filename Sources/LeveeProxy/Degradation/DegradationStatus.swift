/// The `degradation` section of `/status` and the body of `GET /admin/tier`.
public struct DegradationStatus: Sendable, Encodable {
    public var enabled: Bool
    /// The tier in force.
    public var tier: DegradationTier
    /// Whether an operator pinned it.
    public var pinned: Bool
    /// Where the signals alone would be.
    public var automaticTier: DegradationTier
    /// The signals of the last tick.
    public var signals: DegradationSignals
    public var lastMove: Move?
    /// Requests shed by the tier policy since start, per class.
    public var shed: [String: Int]

    /// The last move and its reason.
    public struct Move: Sendable, Encodable {
        public var from: DegradationTier
        public var to: DegradationTier
        /// Human-readable (`latency_p99 1200ms ≥ 1000ms`).
        public var reason: String
        public var kind: TierMoveReason.Kind
        public var signal: TierThresholds.Signal?
        public var value: Double?
        public var threshold: Double?
        public var secondsAgo: Double

        init(_ transition: TierTransition, now: UInt64) {
            from = transition.from
            to = transition.to
            reason = transition.reason.description
            kind = transition.reason.kind
            signal = transition.reason.signal
            value = transition.reason.value
            threshold = transition.reason.threshold
            secondsAgo = Double(now &- transition.at) / 1e9
        }

        enum CodingKeys: String, CodingKey {
            case from, to, reason, kind, signal, value, threshold
            case secondsAgo = "seconds_ago"
        }
    }

    enum CodingKeys: String, CodingKey {
        case enabled, tier, pinned, signals, shed
        case automaticTier = "automatic_tier"
        case lastMove = "last_move"
    }
}
