import Levee

/// Where a rule's quota lives: in this process, or shared by a fleet of instances through Redis.
///
/// ```toml
/// [[rule]]
/// name = "api-per-ip"
/// limit = "600/min burst 60"
/// scope = "global"        # the quota is for the whole fleet ([fleet] says where Redis is)
/// lease = 6               # tokens taken from Redis at a time (default: [fleet] lease, else burst / 10)
/// credit = 1              # a new key's first requests before its first lease
/// fail = "open"           # Redis down: open (local fallback limit) or closed (deny)
/// fail_limit = "5/s burst 10"   # the per-instance limit while failing open (default: the rule's limit)
/// ```
public enum RuleScope: Sendable, Equatable {
    /// The quota is this instance's alone (the core's keyed table).
    case local
    /// The quota is shared by every instance through Redis (docs/fleet.md); the options override
    /// the `[fleet]` defaults.
    case global(GlobalRuleOptions)

    /// Whether the rule is checked through Redis.
    public var isGlobal: Bool { if case .global = self { return true } else { return false } }
}

/// What to do when Redis cannot be reached, as a configuration names it.
public enum FleetFailChoice: String, Sendable, Equatable, CaseIterable {
    /// Keep serving, limiting each instance on its own with a fallback quota.
    case open
    /// Deny requests that only the shared quota could admit.
    case closed
}

/// A global rule's own lease settings; nil fields take the `[fleet]` defaults.
public struct GlobalRuleOptions: Sendable, Equatable {
    /// Tokens taken from Redis at a time per key (nil: `[fleet] lease`, else a tenth of the burst).
    public var leaseSize: Int?
    /// Tokens a key may spend before its first lease arrives (nil: `[fleet] credit`).
    public var initialCredit: Int?
    /// Redis down: open or closed (nil: `[fleet] fail`).
    public var failMode: FleetFailChoice?
    /// The per-instance quota while failing open (nil: the rule's own limit).
    public var failOpenLimit: Quota?

    public init(leaseSize: Int? = nil, initialCredit: Int? = nil, failMode: FleetFailChoice? = nil, failOpenLimit: Quota? = nil) {
        self.leaseSize = leaseSize
        self.initialCredit = initialCredit
        self.failMode = failMode
        self.failOpenLimit = failOpenLimit
    }
}
