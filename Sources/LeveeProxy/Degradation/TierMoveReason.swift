/// Why the controller last changed tier: a signal over a threshold (going up), every signal calm
/// for the hold time (going down), or an operator's pin.
public struct TierMoveReason: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        /// `signal` reached `threshold` (value ≥ threshold): moved up.
        case signal
        /// Every signal stayed below the tier's thresholds minus the hysteresis for `hold`: moved down.
        case calm
        /// An operator pinned the tier.
        case pinned
        /// An operator removed the pin (the tier stays until the signals move it).
        case unpinned
    }

    public var kind: Kind
    /// The signal that reached its threshold (`.signal` only; other kinds name none).
    public var signal: TierThresholds.Signal?
    public var value: Double?
    public var threshold: Double?

    public init(kind: Kind, signal: TierThresholds.Signal? = nil, value: Double? = nil, threshold: Double? = nil) {
        self.kind = kind
        self.signal = signal
        self.value = value
        self.threshold = threshold
    }

    public var description: String {
        switch kind {
        case .signal:
            guard let signal, let value, let threshold else { return "signal" }
            return "\(signal.rawValue) \(Self.format(value, signal)) ≥ \(Self.format(threshold, signal))"
        case .calm: return "all signals below the thresholds minus hysteresis for the hold time"
        case .pinned: return "pinned by an operator"
        case .unpinned: return "unpinned by an operator"
        }
    }

    static func format(_ value: Double, _ signal: TierThresholds.Signal) -> String {
        if signal.isDuration { return "\(Int((value * 1000).rounded()))ms" }
        if signal == .inFlight { return "\(Int(value))" }
        return "\((value * 1000).rounded() / 1000)"
    }
}
