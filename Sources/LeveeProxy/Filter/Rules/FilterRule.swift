import Levee

/// One rule: a match → a key → a quota → an action, optionally in log-only mode.
///
/// ```toml
/// [[rule]]
/// name = "per-ip"
/// match = { path_prefix = "/api/", methods = ["GET", "POST"] }
/// key = "ip"
/// limit = "20/s burst 40"
/// action = "reject"
/// mode = "log-only"
/// ```
public struct FilterRule: Sendable, Equatable {
    /// When the rate-limit fields go out.
    public enum HeaderExposure: String, Sendable, Equatable {
        /// Only on the rule's own 429.
        case denied
        /// Also on allowed responses (so clients can pace themselves before they are refused).
        case always
        /// Never (not even on 429; `Retry-After` is still sent).
        case never
    }

    /// Unique name: counters, logs and the policy name in `RateLimit-Policy`.
    public var name: String
    public var match: RuleMatch
    public var key: RuleKey
    /// nil: no limit, the action applies to every matching request (an access rule).
    public var quota: Quota?
    public var action: RuleAction
    /// Count what would happen, never act.
    public var logOnly: Bool
    /// Tokens one request costs.
    public var cost: Int
    public var headers: HeaderExposure
    /// Local (this instance's table) or global (shared by the fleet through Redis).
    public var scope: RuleScope

    public init(
        name: String, match: RuleMatch = RuleMatch(), key: RuleKey = .ip, quota: Quota?, action: RuleAction = .reject,
        logOnly: Bool = false, cost: Int = 1, headers: HeaderExposure = .denied, scope: RuleScope = .local
    ) {
        self.name = name
        self.match = match
        self.key = key
        self.quota = quota
        self.action = action
        self.logOnly = logOnly
        self.cost = cost
        self.headers = headers
        self.scope = scope
    }

    /// The rule's policy as the rate-limit fields describe it (nil without a quota).
    public var policy: RateLimitHeaders.Policy? {
        guard let quota else { return nil }
        return RateLimitHeaders.Policy(
            name: name, quota: quota.burst,
            windowSeconds: RateLimitHeaders.windowSeconds(burst: quota.burst, rate: quota.rate, period: quota.period))
    }
}
