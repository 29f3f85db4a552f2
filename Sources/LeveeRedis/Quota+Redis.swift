import Levee

extension Quota {
    /// The emission interval in whole microseconds (rounded up: never looser than the quota),
    /// the unit of ``RedisGCRAScript``.
    public var redisIntervalMicroseconds: Int64 {
        Int64((emissionIntervalNanoseconds + 999) / 1_000)
    }

    /// `burst × redisIntervalMicroseconds`: the credit of a full bucket in the script's unit.
    public var redisToleranceMicroseconds: Int64 {
        redisIntervalMicroseconds * Int64(burst)
    }
}
