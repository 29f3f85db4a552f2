/// The tier state machine: free of I/O and clocks, driven by `tick(now:signals:)` every
/// `configuration.tick` (a manual clock in tests, the degradation service in the proxy).
///
/// - Up fast: on the first tick where any signal reaches a threshold of a higher tier, it moves
///   straight to the highest tier whose thresholds are reached.
/// - Down slowly: one tier down only after every signal has stayed below the current tier's
///   thresholds scaled by `1 − hysteresis` for `hold`; the next step down needs another `hold`.
///   A signal oscillating around a threshold therefore causes one move up and none down.
/// - A pin (operator) overrides the signals until `unpin()`; the controller then resumes from the
///   pinned tier (signals move it up at once, or down after `hold`).
public struct TierController: Sendable {
    public private(set) var configuration: DegradationConfiguration
    /// Where the signals have put the controller (the tier unless pinned).
    public private(set) var automaticTier: DegradationTier = .normal
    /// The operator's pin, if any.
    public private(set) var pinned: DegradationTier?
    /// The last move (automatic or pin), with its reason.
    public private(set) var lastMove: TierTransition?
    /// The signals of the last tick.
    public private(set) var lastSignals = DegradationSignals()
    /// Since when every signal has been calm for the current tier (nil: not calm now).
    private var calmSince: UInt64?

    public init(configuration: DegradationConfiguration) {
        self.configuration = configuration
    }

    /// The tier in force: the pin, else the automatic tier.
    public var tier: DegradationTier { pinned ?? automaticTier }

    /// Reads one tick's signals; returns the move it causes, if any.
    public mutating func tick(now: UInt64, signals: DegradationSignals) -> TierTransition? {
        lastSignals = signals
        guard pinned == nil else { return nil }

        // Up: the highest tier with any threshold reached.
        for candidate in DegradationTier.allCases.reversed() where candidate > automaticTier {
            if let reason = configuration.entryThresholds(candidate).firstCrossed(by: signals) {
                calmSince = nil
                return move(to: candidate, at: now, reason: reason)
            }
        }

        // Down: one tier, after `hold` of calm.
        guard let lower = automaticTier.below else { return nil }
        let calmScale = max(0, 1 - configuration.hysteresis)
        if configuration.entryThresholds(automaticTier).firstCrossed(by: signals, scale: calmScale) != nil {
            calmSince = nil
            return nil
        }
        guard let since = calmSince else {
            calmSince = now
            return nil
        }
        guard now &- since >= Self.nanoseconds(configuration.hold) else { return nil }
        calmSince = now  // the next step down needs its own hold
        return move(to: lower, at: now, reason: TierMoveReason(kind: .calm))
    }

    /// Forces `tier` until `unpin()`. Returns the move when the tier in force changes.
    @discardableResult
    public mutating func pin(_ tier: DegradationTier, now: UInt64) -> TierTransition? {
        let before = self.tier
        pinned = tier
        calmSince = nil
        let transition = TierTransition(from: before, to: tier, at: now, reason: TierMoveReason(kind: .pinned))
        lastMove = transition
        return before == tier ? nil : transition
    }

    /// Lifts the pin: the controller continues from the pinned tier (which is why this never
    /// moves by itself). Returns false when nothing was pinned.
    @discardableResult
    public mutating func unpin(now: UInt64) -> Bool {
        guard let tier = pinned else { return false }
        pinned = nil
        automaticTier = tier
        calmSince = nil
        lastMove = TierTransition(from: tier, to: tier, at: now, reason: TierMoveReason(kind: .unpinned))
        return true
    }

    /// New thresholds, hold and hysteresis (on reload); the tier and pin stay.
    public mutating func apply(_ configuration: DegradationConfiguration) {
        self.configuration = configuration
    }

    private mutating func move(to tier: DegradationTier, at now: UInt64, reason: TierMoveReason) -> TierTransition {
        let transition = TierTransition(from: automaticTier, to: tier, at: now, reason: reason)
        automaticTier = tier
        lastMove = transition
        return transition
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }
}
