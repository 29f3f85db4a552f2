import Synchronization

/// One token bucket as one atomic 64-bit word: the theoretical arrival time (TAT) of GCRA.
///
/// A decision is one atomic load and, only when the request is admitted, one compare-and-swap.
/// A denied request writes nothing, so a flood of denied requests does not bounce the cache
/// line between cores. The quota is passed with each call (a cell does not own one), so callers
/// may tighten or loosen it at run time; see ``RateLimiter`` for a cell with a quota and clock.
public final class GCRACell: Sendable {
    @usableFromInline let tat: Atomic<UInt64>

    /// Creates a cell with a full bucket.
    public init() {
        tat = Atomic(0)
    }

    /// Takes `cost` tokens at `now` (clock nanoseconds) if the bucket holds them.
    @inlinable
    public func acquire(quota: Quota, cost: Int = 1, at now: UInt64) -> RateLimitDecision {
        var stored = tat.load(ordering: .acquiring)
        var backoff = ContentionBackoff()
        while true {
            let step = GCRA.step(stored: stored, now: now, cost: cost, quota: quota)
            guard step.decision.isAllowed, step.newTAT != stored else { return step.decision }
            let (exchanged, original) = tat.compareExchange(
                expected: stored, desired: step.newTAT, ordering: .acquiringAndReleasing)
            if exchanged { return step.decision }
            backoff.pause()
            stored = original
        }
    }

    /// The state at `now` without taking anything (`isAllowed` says whether one token is there).
    public func peek(quota: Quota, at now: UInt64) -> RateLimitDecision {
        GCRA.peek(stored: tat.load(ordering: .acquiring), now: now, quota: quota)
    }

    /// Gives back `tokens` (positive: a refund or lease top-up, capped at a full bucket) or takes
    /// them unconditionally (negative: tokens spent elsewhere, floored at an empty bucket).
    public func addTokens(_ tokens: Int, quota: Quota, at now: UInt64) {
        var stored = tat.load(ordering: .acquiring)
        while true {
            let new = GCRA.adding(tokens: tokens, to: stored, now: now, quota: quota)
            let (exchanged, original) = tat.compareExchange(expected: stored, desired: new, ordering: .acquiringAndReleasing)
            if exchanged { return }
            stored = original
        }
    }

    /// Sets the bucket to hold exactly `tokens` (clamped to 0…burst) at `now`.
    public func setTokens(_ tokens: Int, quota: Quota, at now: UInt64) {
        tat.store(GCRA.tat(holding: tokens, now: now, quota: quota), ordering: .releasing)
    }
}
