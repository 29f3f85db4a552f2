import Levee

/// What a global rule does when Redis cannot be reached (down, refusing, or slower than the
/// command timeout) and the instance has no leased tokens left.
public enum FleetFailMode: Sendable, Hashable {
    /// Keep serving: each instance limits on its own with `fallback` per key, through the
    /// core's local limiter. A fleet of `I` instances then admits up to `I ×` the fallback,
    /// so a fallback of about `quota / I` keeps the total near the global quota.
    case open(fallback: Quota)
    /// Deny: no request passes a global rule that cannot be checked (for quotas that protect
    /// something expensive or billable). Denials carry a `Retry-After` of the rule's
    /// ``FleetRule/failureRetryInterval``.
    case closed
}
