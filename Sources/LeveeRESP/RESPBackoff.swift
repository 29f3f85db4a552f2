/// Exponential backoff with full jitter for reconnect attempts, as a pure value.
///
/// Attempt `n` (0-based) waits a random time in `[base/2, base]` where
/// `base = min(maximum, initial × 2^n)`: exponential so that a down server is not hammered,
/// jittered so that a fleet of proxies does not reconnect in lock step when Redis comes back,
/// never below half the base so that a retry storm cannot form from lucky zero draws.
public struct RESPBackoff: Sendable, Hashable {
    /// The delay before the first reconnect attempt (upper end of its jitter range).
    public var initial: Duration
    /// The largest delay between attempts.
    public var maximum: Duration

    /// A backoff from `initial` doubling up to `maximum`.
    public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(2)) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The upper end of the delay for `attempt` (0-based), before jitter.
    public func ceiling(attempt: Int) -> Duration {
        let shift = min(max(attempt, 0), 30)
        let initialNanos = Self.nanoseconds(initial)
        let maximumNanos = Self.nanoseconds(maximum)
        let (scaled, overflow) = initialNanos.multipliedReportingOverflow(by: Int64(1) << shift)
        return .nanoseconds(overflow ? maximumNanos : min(scaled, maximumNanos))
    }

    /// The delay before `attempt`, drawn uniformly from `[ceiling/2, ceiling]` with `generator`.
    public func delay<G: RandomNumberGenerator>(attempt: Int, using generator: inout G) -> Duration {
        let top = Self.nanoseconds(ceiling(attempt: attempt))
        guard top > 1 else { return .nanoseconds(top) }
        return .nanoseconds(Int64.random(in: (top / 2)...top, using: &generator))
    }

    /// The delay before `attempt`, jittered with the system generator.
    public func delay(attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &generator)
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
