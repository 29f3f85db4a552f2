/// A single (unkeyed) limiter: one ``GCRACell`` with its quota and clock — for a global limit,
/// a per-route limit, or anything else with one bucket.
///
/// ```swift
/// let limiter = RateLimiter(quota: try Quota(parsing: "100/s burst 20"))
/// if limiter.acquire().isAllowed { /* do the work */ }
/// ```
public final class RateLimiter: Sendable {
    /// The quota every decision is made against.
    public let quota: Quota
    /// The bucket.
    public let cell: GCRACell
    /// The time source.
    public let clock: any LimiterClock

    /// Creates a limiter with a full bucket.
    public init(quota: Quota, clock: any LimiterClock = MonotonicClock()) {
        self.quota = quota
        self.cell = GCRACell()
        self.clock = clock
    }

    /// Takes `cost` tokens now if the bucket holds them.
    @inlinable
    public func acquire(cost: Int = 1) -> RateLimitDecision {
        cell.acquire(quota: quota, cost: cost, at: clock.now())
    }

    /// Takes `cost` tokens at `now` (nanoseconds of this limiter's clock).
    @inlinable
    public func acquire(cost: Int = 1, at now: UInt64) -> RateLimitDecision {
        cell.acquire(quota: quota, cost: cost, at: now)
    }

    /// The state now, without taking anything.
    public func peek() -> RateLimitDecision {
        cell.peek(quota: quota, at: clock.now())
    }

    /// Gives back (positive) or takes unconditionally (negative) `tokens`; see ``GCRACell/addTokens(_:quota:at:)``.
    public func addTokens(_ tokens: Int) {
        cell.addTokens(tokens, quota: quota, at: clock.now())
    }

    /// Sets the bucket to hold exactly `tokens` (clamped to 0…burst).
    public func setTokens(_ tokens: Int) {
        cell.setTokens(tokens, quota: quota, at: clock.now())
    }
}
