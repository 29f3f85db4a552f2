import Levee
import LeveeRESP

/// What one run of ``RedisGCRAScript`` answered: tokens granted and the bucket's state after.
public struct RedisGCRAReply: Sendable, Hashable {
    /// Tokens taken from the shared bucket by this call (0 when it was empty, or in
    /// all-or-nothing mode when it held fewer than asked).
    public var granted: Int
    /// Microseconds from `now` to the bucket's TAT after the call (0 when full).
    public var tatOffsetMicroseconds: Int64
    /// The time the step used, in microseconds (Redis's clock unless the caller passed one).
    public var nowMicroseconds: Int64

    /// Reads the script's `{granted, tat - now, now}` reply.
    public init(reply: RESPValue) throws(RESPError) {
        guard let parts = reply.array, parts.count == 3,
              let granted = parts[0].int64, let offset = parts[1].int64, let now = parts[2].int64,
              granted >= 0, offset >= 0
        else { throw .unexpectedReply(reply) }
        self.granted = Int(granted)
        self.tatOffsetMicroseconds = offset
        self.nowMicroseconds = now
    }

    /// Tokens left in the shared bucket after the call.
    public func remaining(quota: Quota) -> Int {
        let tolerance = quota.redisToleranceMicroseconds
        return tatOffsetMicroseconds >= tolerance ? 0 : Int((tolerance - tatOffsetMicroseconds) / quota.redisIntervalMicroseconds)
    }

    /// Nanoseconds until `cost` more tokens are in the shared bucket (0 if they are now;
    /// ``RateLimitDecision/never`` if `cost` exceeds the burst).
    public func retryAfterNanoseconds(cost: Int, quota: Quota) -> UInt64 {
        guard cost <= quota.burst else { return RateLimitDecision.never }
        let wait = tatOffsetMicroseconds + Int64(cost) * quota.redisIntervalMicroseconds - quota.redisToleranceMicroseconds
        return UInt64(max(0, wait)) * 1_000
    }

    /// The core's decision for an all-or-nothing request of `cost` answered by this reply.
    public func decision(cost: Int, quota: Quota) -> RateLimitDecision {
        let allowed = cost > 0 && granted == cost
        return RateLimitDecision(
            isAllowed: allowed || cost <= 0, remaining: remaining(quota: quota), limit: quota.burst,
            retryAfterNanoseconds: allowed || cost <= 0 ? 0 : retryAfterNanoseconds(cost: cost, quota: quota),
            resetAfterNanoseconds: UInt64(tatOffsetMicroseconds) * 1_000)
    }
}
