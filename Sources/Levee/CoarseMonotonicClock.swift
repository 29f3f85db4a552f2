#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A cheaper monotonic clock for hot paths: `CLOCK_MONOTONIC_COARSE` on Linux, which reads the
/// kernel's last tick (no time-stamp counter read): about a fifth of the cost of
/// ``MonotonicClock``, at the resolution of the kernel tick (``resolutionNanoseconds``,
/// typically 1–4 ms).
///
/// This is the trade nginx (`ngx_current_msec`), HAProxy (`now_ms`) and Envoy (the
/// dispatcher's cached time) make for their limiters. Decisions stay exact with respect to the
/// time the clock reports; relative to true time, tokens arrive in steps of one tick, so over
/// any window a key may be admitted up to `rate × resolution` tokens earlier than a precise
/// clock would allow (never more in total: the clock still never runs ahead). Prefer
/// ``MonotonicClock`` for low rates with tight bursts; use this one when the limiter sits on
/// the path of every request at high rates. On platforms without a coarse clock it is the
/// precise one.
public struct CoarseMonotonicClock: LimiterClock {
    /// Creates the clock; it has no state.
    public init() {}

    /// Nanoseconds since boot, as of the kernel's last tick.
    @inlinable
    public func now() -> UInt64 {
        var spec = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC_COARSE, &spec)
        #else
        clock_gettime(CLOCK_MONOTONIC, &spec)
        #endif
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// The clock's resolution in nanoseconds (the kernel tick).
    public var resolutionNanoseconds: UInt64 {
        var spec = timespec()
        #if os(Linux)
        clock_getres(CLOCK_MONOTONIC_COARSE, &spec)
        #else
        clock_getres(CLOCK_MONOTONIC, &spec)
        #endif
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}
