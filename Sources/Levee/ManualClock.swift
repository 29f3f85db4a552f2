import Synchronization

/// A clock that moves only when told to: for tests and simulations.
///
/// It is thread-safe, so concurrent tests can share one. Setting it backwards is allowed (to
/// test that limiters never create tokens from it) and counted in ``regressions``.
public final class ManualClock: LimiterClock {
    private let nanoseconds: Atomic<UInt64>
    private let regressionCount = Atomic<Int>(0)

    /// Creates a clock reading `start` nanoseconds.
    public init(start: UInt64 = 0) {
        precondition(start < 1 << 59, "clock values must stay below 2^59 ns")
        nanoseconds = Atomic(start)
    }

    /// The current reading.
    public func now() -> UInt64 { nanoseconds.load(ordering: .acquiring) }

    /// Moves the clock forward by `duration` (which must not be negative).
    public func advance(by duration: Duration) {
        guard let step = Quota.nanoseconds(of: duration) else { preconditionFailure("step too large") }
        advance(nanoseconds: step)
    }

    /// Moves the clock forward by `step` nanoseconds.
    public func advance(nanoseconds step: UInt64) {
        let new = nanoseconds.wrappingAdd(step, ordering: .acquiringAndReleasing).newValue
        precondition(new < 1 << 59, "clock values must stay below 2^59 ns")
    }

    /// Sets the reading to `value`; a value below the current one counts as a regression.
    public func set(nanoseconds value: UInt64) {
        precondition(value < 1 << 59, "clock values must stay below 2^59 ns")
        let old = nanoseconds.exchange(value, ordering: .acquiringAndReleasing)
        if value < old { regressionCount.wrappingAdd(1, ordering: .relaxed) }
    }

    /// How many times the clock was set backwards.
    public var regressions: Int { regressionCount.load(ordering: .relaxed) }
}
