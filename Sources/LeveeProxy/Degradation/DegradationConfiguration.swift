/// The `[degradation]` section: how often the controller ticks, how long it holds a tier before
/// stepping down, the capacity the request rate is compared with, and each tier's thresholds and
/// policy (docs/configuration.md, docs/operations.md).
///
/// Without a `[degradation]` section `enabled` is false: no controller runs, the tier is
/// `normal` forever and the filter never looks at tiers.
public struct DegradationConfiguration: Sendable, Equatable {
    public var enabled: Bool
    /// How often the controller reads the signals (default 250 ms).
    public var tick: Duration
    /// How long every signal must stay calm before the controller steps down one tier (default 30 s).
    public var hold: Duration
    /// Fraction below a threshold a signal must fall to count as calm (default 0.2: a signal that
    /// entered a tier at 1.0 must drop under 0.8), so that a noisy signal does not flap.
    public var hysteresis: Double
    /// Requests per second the service is sized for; the `load` signal is the rate over it.
    public var capacityRPS: Double?
    /// Time constant of the latency and error-rate moving averages (default 1 s).
    public var smoothing: Duration
    /// Thresholds to enter `elevated`, `under-attack` and `survival` (`normal` has none).
    public var thresholds: [DegradationTier: TierThresholds]
    public var policies: [DegradationTier: TierPolicy]

    public init(
        enabled: Bool = false, tick: Duration = .milliseconds(250), hold: Duration = .seconds(30), hysteresis: Double = 0.2,
        capacityRPS: Double? = nil, smoothing: Duration = .seconds(1),
        thresholds: [DegradationTier: TierThresholds] = DegradationConfiguration.defaultThresholds,
        policies: [DegradationTier: TierPolicy] = DegradationConfiguration.defaultPolicies
    ) {
        self.enabled = enabled
        self.tick = tick
        self.hold = hold
        self.hysteresis = hysteresis
        self.capacityRPS = capacityRPS
        self.smoothing = smoothing
        self.thresholds = thresholds
        self.policies = policies
    }

    /// Defaults: load 0.8 / 1.0 / 1.5 of capacity (when one is set), latency average 250 / 500 ms
    /// / 1 s, p99 1 / 2 / 5 s, error rate 5 / 20 / 50 %, event-loop lag 50 / 200 / 500 ms.
    public static let defaultThresholds: [DegradationTier: TierThresholds] = [
        .elevated: TierThresholds(load: 0.8, latencyAverage: 0.25, latencyP99: 1, errorRate: 0.05, loopLag: 0.05),
        .underAttack: TierThresholds(load: 1.0, latencyAverage: 0.5, latencyP99: 2, errorRate: 0.2, loopLag: 0.2),
        .survival: TierThresholds(load: 1.5, latencyAverage: 1, latencyP99: 5, errorRate: 0.5, loopLag: 0.5),
    ]

    public static let defaultPolicies: [DegradationTier: TierPolicy] = Dictionary(
        uniqueKeysWithValues: DegradationTier.allCases.map { ($0, TierPolicy.defaultPolicy(for: $0)) })

    /// The policy of `tier` (its default when the file does not set one).
    public func policy(_ tier: DegradationTier) -> TierPolicy { policies[tier] ?? TierPolicy.defaultPolicy(for: tier) }

    /// The thresholds to enter `tier` (empty for `normal`).
    public func entryThresholds(_ tier: DegradationTier) -> TierThresholds {
        tier == .normal ? TierThresholds() : thresholds[tier] ?? TierThresholds()
    }
}
