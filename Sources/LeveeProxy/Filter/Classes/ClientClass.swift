/// How much the filter trusts a client, from most to least trusted. Rules match on it; the
/// degradation tiers (issue #5) shed the least trusted classes first.
public enum ClientClass: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    /// Allow-listed network or a valid credential: bypasses rules unless a rule names `trusted`.
    case trusted
    /// Holds a valid signed challenge cookie (it ran the proof of work from this /24 or /64).
    case verified
    /// Presents a configured session cookie or header, or comes from a configured `known` network.
    case known
    /// Nothing known either way.
    case unknown
    /// Went over a limit within the last `suspicious_for`.
    case suspicious
    /// Under an active ban: every request is refused until it expires.
    case banned

    /// Rank, 0 = most trusted.
    public var rank: Int {
        switch self {
        case .trusted: 0
        case .verified: 1
        case .known: 2
        case .unknown: 3
        case .suspicious: 4
        case .banned: 5
        }
    }

    /// `a < b` means `a` is more trusted than `b`.
    public static func < (a: ClientClass, b: ClientClass) -> Bool { a.rank < b.rank }

    public var description: String { rawValue }
}
