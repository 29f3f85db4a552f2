/// The GCRA step shared by every limiter in the module: a pure function of the stored
/// theoretical arrival time (TAT), the time now and the cost.
///
/// A bucket is represented by its TAT: the instant at which it will be full again. `TAT <= now`
/// means full; the tokens available at `now` are `(now + tolerance - max(TAT, now)) / interval`.
@usableFromInline
enum GCRA {
    /// Result of one step: the decision, and the TAT to store when it admitted the request.
    @usableFromInline
    struct Step {
        @usableFromInline let decision: RateLimitDecision
        @usableFromInline let newTAT: UInt64

        @inlinable init(decision: RateLimitDecision, newTAT: UInt64) {
            self.decision = decision
            self.newTAT = newTAT
        }
    }

    /// One decision for `cost` tokens at `now` against a bucket whose TAT is `stored`.
    /// A cost of 0 only reports the state (always "allowed", nothing to store).
    @inlinable @inline(__always)
    static func step(stored: UInt64, now: UInt64, cost: Int, quota: Quota) -> Step {
        let interval = quota.emissionIntervalNanoseconds
        let tolerance = quota.toleranceNanoseconds
        let tat = max(stored, now)
        let limitTime = now &+ tolerance  // the latest TAT the bucket may hold
        guard cost > 0, cost <= quota.burst else {
            let available = tat >= limitTime ? 0 : limitTime &- tat
            return Step(
                decision: RateLimitDecision(
                    isAllowed: cost <= 0, remainingNanoseconds: available, intervalNanoseconds: interval, limit: quota.burst,
                    retryAfterNanoseconds: cost <= 0 ? 0 : RateLimitDecision.never,
                    resetAfterNanoseconds: tat &- now),
                newTAT: stored)
        }
        let newTAT = tat &+ UInt64(cost) &* interval  // cost <= burst, so this is <= tat + tolerance
        if newTAT <= limitTime {
            return Step(
                decision: RateLimitDecision(
                    isAllowed: true, remainingNanoseconds: limitTime &- newTAT, intervalNanoseconds: interval,
                    limit: quota.burst,
                    retryAfterNanoseconds: 0, resetAfterNanoseconds: newTAT &- now),
                newTAT: newTAT)
        }
        let available = tat >= limitTime ? 0 : limitTime &- tat
        return Step(
            decision: RateLimitDecision(
                isAllowed: false, remainingNanoseconds: available, intervalNanoseconds: interval, limit: quota.burst,
                retryAfterNanoseconds: newTAT &- limitTime, resetAfterNanoseconds: tat &- now),
            newTAT: stored)
    }

    /// The state at `now` without taking anything: `isAllowed` says whether one token is there,
    /// `retryAfter` when one will be, `remaining` and `resetAfter` describe the bucket.
    @inlinable
    static func peek(stored: UInt64, now: UInt64, quota: Quota) -> RateLimitDecision {
        let state = step(stored: stored, now: now, cost: 0, quota: quota).decision
        let one = step(stored: stored, now: now, cost: 1, quota: quota).decision
        return RateLimitDecision(
            isAllowed: one.isAllowed, remainingNanoseconds: state.remainingNanoseconds, intervalNanoseconds: interval(quota),
            limit: quota.burst, retryAfterNanoseconds: one.retryAfterNanoseconds,
            resetAfterNanoseconds: state.resetAfterNanoseconds)
    }

    @inlinable @inline(__always)
    static func interval(_ quota: Quota) -> UInt64 { quota.emissionIntervalNanoseconds }

    /// The TAT after giving back `tokens` (a refund or a lease top-up): never above full.
    @inlinable @inline(__always)
    static func adding(tokens: Int, to stored: UInt64, now: UInt64, quota: Quota) -> UInt64 {
        let interval = quota.emissionIntervalNanoseconds
        if tokens >= 0 {
            // Any TAT at or before `now` means "full"; flooring at 0 keeps the word valid.
            let credit = UInt64(min(tokens, quota.burst)) &* interval
            return stored > credit ? stored &- credit : 0
        }
        // Taking tokens without a check (tokens spent elsewhere in the fleet): floor at empty.
        let debit = UInt64(min(-tokens, quota.burst)) &* interval
        return min(max(stored, now) &+ debit, max(stored, now &+ quota.toleranceNanoseconds))
    }

    /// The TAT of a bucket holding exactly `tokens` tokens at `now` (clamped to 0…burst).
    @inlinable @inline(__always)
    static func tat(holding tokens: Int, now: UInt64, quota: Quota) -> UInt64 {
        let missing = UInt64(quota.burst - min(max(tokens, 0), quota.burst))
        return now &+ missing &* quota.emissionIntervalNanoseconds
    }
}
