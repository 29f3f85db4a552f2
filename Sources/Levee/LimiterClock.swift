/// The time source of a limiter: monotonic nanoseconds from an arbitrary origin.
///
/// Production code uses ``MonotonicClock``; tests inject a ``ManualClock``. Values must stay
/// below 2^59 (about 18 years after the origin).
///
/// A clock that goes backwards never creates tokens: a bucket is one timestamp of when it will
/// be full again, and an earlier "now" only makes that instant look further away. They are
/// counted: ``ManualClock/regressions`` in tests, and ``GuardedClock`` wraps a clock that may
/// step back (a wall clock, a remote server's time), holds time still and counts the steps.
public protocol LimiterClock: Sendable {
    /// Nanoseconds since the clock's origin; never decreasing for a well-behaved clock.
    func now() -> UInt64
}
