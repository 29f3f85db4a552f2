#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The production clock: `CLOCK_MONOTONIC` (time since boot, never set back by NTP or the
/// administrator), read through the vDSO without a system call.
public struct MonotonicClock: LimiterClock {
    /// Creates the clock; it has no state.
    public init() {}

    /// Nanoseconds since boot.
    @inlinable
    public func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}
