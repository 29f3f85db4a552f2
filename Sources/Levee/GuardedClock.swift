import Synchronization

/// Wraps a clock that may step backwards (a wall clock, a remote server's time) so that a
/// limiter never sees time go back, and counts the steps.
///
/// It keeps the highest reading so far and returns `max(reading, highest)`. A reading more
/// than `tolerance` below the highest, confirmed by a second reading, counts as a regression (smaller differences are expected
/// races between threads reading the base clock, and are not counted). Limiters would not
/// create tokens from a backwards step anyway (see ``LimiterClock``); this makes the step
/// visible and keeps `retryAfter` figures sane while it lasts.
///
/// Every reading may write the shared high-water mark, so keep it off per-request hot paths
/// at high rates; ``MonotonicClock`` and ``CoarseMonotonicClock`` never step back and need no guard.
public final class GuardedClock: LimiterClock {
    /// The wrapped clock.
    public let base: any LimiterClock
    /// Backwards steps smaller than this are not counted (nanoseconds).
    public let toleranceNanoseconds: UInt64
    private let highest = Atomic<UInt64>(0)
    private let regressionCount = Atomic<Int>(0)

    /// Guards `base`; steps back of more than `tolerance` are counted.
    public init(_ base: any LimiterClock, tolerance: Duration = .milliseconds(1)) {
        self.base = base
        self.toleranceNanoseconds = Quota.nanoseconds(of: tolerance) ?? 0
    }

    /// The base clock's reading, never below any reading returned before.
    public func now() -> UInt64 {
        let reading = base.now()
        var high = highest.load(ordering: .relaxed)
        while true {
            if reading <= high {
                if high - reading > toleranceNanoseconds && steppedBack(below: high) {
                    regressionCount.wrappingAdd(1, ordering: .relaxed)
                }
                return high
            }
            let (exchanged, original) = highest.compareExchange(expected: high, desired: reading, ordering: .relaxed)
            if exchanged { return reading }
            high = original
        }
    }

    /// Whether the base clock, read again now, is still more than the tolerance below `high`.
    /// A thread preempted between its reading and the comparison holds an old reading that
    /// another thread has since passed: that is not the clock stepping back, and a fresh reading
    /// (taken after `high` was published) is not behind. A clock that stepped back reads low again.
    private func steppedBack(below high: UInt64) -> Bool {
        let again = base.now()
        return again < high && high - again > toleranceNanoseconds
    }

    /// How many readings were more than the tolerance behind the highest one.
    public var regressions: Int { regressionCount.load(ordering: .relaxed) }
}
