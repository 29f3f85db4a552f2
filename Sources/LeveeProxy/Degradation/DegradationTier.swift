/// How hard the proxy is defending itself, from calm to last resort. The tier controller moves
/// between them from signals (request rate, upstream latency and errors, in-flight requests,
/// event-loop lag); each tier's `TierPolicy` says which client classes are still served.
public enum DegradationTier: String, Sendable, Hashable, CaseIterable, Comparable, Codable, CustomStringConvertible {
    /// Everything as configured.
    case normal
    /// Under pressure: quotas may tighten, the least trusted classes may be shed.
    case elevated
    /// Overwhelmed: only the more trusted classes and critical routes are served.
    case underAttack = "under-attack"
    /// Last resort: only trusted and verified clients (and critical routes) by default.
    case survival

    /// 0 (`normal`) to 3 (`survival`): the value of the `levee_tier` gauge.
    public var level: Int {
        switch self {
        case .normal: 0
        case .elevated: 1
        case .underAttack: 2
        case .survival: 3
        }
    }

    /// The tier of `level` (clamped to 0...3).
    public init(level: Int) {
        self = Self.allCases[min(max(level, 0), Self.allCases.count - 1)]
    }

    /// The next calmer tier (nil for `normal`).
    public var below: DegradationTier? { level == 0 ? nil : DegradationTier(level: level - 1) }

    public static func < (a: DegradationTier, b: DegradationTier) -> Bool { a.level < b.level }

    public var description: String { rawValue }
}
