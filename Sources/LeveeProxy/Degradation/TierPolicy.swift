/// What one tier does to requests: which client classes are still served, by how much the
/// filter's rule quotas tighten, which routes stay open to everyone, and what shed clients get.
public struct TierPolicy: Sendable, Equatable {
    /// The answer to a shed request.
    public enum ShedResponse: String, Sendable, Equatable {
        /// 503 Service Unavailable with `Retry-After: retryAfter`.
        case serviceUnavailable = "503"
        /// The proof-of-work challenge page for browsers (HTML `Accept`), 503 for the rest; a
        /// client that passes it becomes `verified`.
        case challenge
        /// Close the connection without an answer (costs the least under a flood).
        case close
    }

    /// Classes served in this tier (`banned` never is). Others are shed unless the route is critical.
    public var admitted: Set<ClientClass>
    /// Multiplies every tightened rule's rate and burst (1 = unchanged, 0.5 = half). In (0, 1].
    public var tighten: Double
    /// Rules the factor applies to, by name; nil: every rule with a limit.
    public var tightenRules: [String]?
    /// Route names served to every class but `banned` in this tier, in addition to the routes
    /// marked `critical = true` (which are critical in every tier).
    public var criticalRoutes: [String]
    public var respond: ShedResponse
    /// `Retry-After` of the 503.
    public var retryAfter: Duration

    public init(
        admitted: Set<ClientClass> = Set(ClientClass.allCases).subtracting([.banned]), tighten: Double = 1,
        tightenRules: [String]? = nil, criticalRoutes: [String] = [], respond: ShedResponse = .serviceUnavailable,
        retryAfter: Duration = .seconds(10)
    ) {
        self.admitted = admitted
        self.tighten = tighten
        self.tightenRules = tightenRules
        self.criticalRoutes = criticalRoutes
        self.respond = respond
        self.retryAfter = retryAfter
    }

    /// The default policy of each tier: `normal` serves everyone; `elevated` sheds `suspicious`
    /// and tightens quotas to 3/4; `under-attack` serves `trusted`, `verified` and `known` at 1/2;
    /// `survival` serves `trusted` and `verified` at 1/4. Critical routes are served in every tier.
    public static func defaultPolicy(for tier: DegradationTier) -> TierPolicy {
        switch tier {
        case .normal: TierPolicy()
        case .elevated: TierPolicy(admitted: [.trusted, .verified, .known, .unknown], tighten: 0.75)
        case .underAttack: TierPolicy(admitted: [.trusted, .verified, .known], tighten: 0.5)
        case .survival: TierPolicy(admitted: [.trusted, .verified], tighten: 0.25)
        }
    }
}
