
extension RateLimitHeaders.Status {
    /// The state of `policy` after the core's `decision`.
    public init(policy: RateLimitHeaders.Policy, decision: RateLimitDecision) {
        self.init(policy: policy, remaining: decision.remaining, resetAfter: decision.resetAfter)
    }
}

extension RateLimitHeaders.Policy {
    /// The policy named `name` that a quota implements: `q` is the burst, `w` the seconds to refill it.
    public init(name: String, quota: Quota) {
        self.init(name: name, quota: quota.burst,
                  windowSeconds: RateLimitHeaders.windowSeconds(burst: quota.burst, rate: quota.rate, period: quota.period))
    }
}

extension RateLimitHeaders {
    /// `RateLimit-Policy` and `RateLimit` for one decision of the quota named `name`.
    public static func fields(name: String, quota: Quota, decision: RateLimitDecision) -> [(name: String, value: String)] {
        let policy = Policy(name: name, quota: quota)
        return fields([Status(policy: policy, decision: decision)])
    }

    /// `Retry-After` for a denied decision.
    public static func retryAfterValue(_ decision: RateLimitDecision) -> String {
        retryAfterValue(decision.retryAfter)
    }
}
