import NIOCore

/// Adaptive concurrency toward one upstream pool (`[upstream.NAME.concurrency]`): how many
/// requests may be in flight to the pool at once, and how the excess waits and is shed.
/// Absent (nil in `UpstreamPoolConfiguration`): no limit, no queue.
public struct ConcurrencyConfiguration: Sendable, Equatable {
    /// Adapt the limit to the pool's round-trip times (gradient); false keeps it at `maxLimit`.
    public var adaptive: Bool
    public var minLimit: Int
    public var maxLimit: Int
    /// The limit before the first measurements (adaptive only).
    public var initialLimit: Int
    /// Requests beyond the limit that may wait (ordered by client class); 0 sheds them at once.
    public var queue: Int
    /// How long a request may wait in the queue before it is shed.
    public var queueTimeout: TimeAmount
    /// `Retry-After` of a shed request's 503.
    public var retryAfter: TimeAmount

    public init(
        adaptive: Bool = true, minLimit: Int = 4, maxLimit: Int = 1000, initialLimit: Int = 20, queue: Int = 1000,
        queueTimeout: TimeAmount = .seconds(1), retryAfter: TimeAmount = .seconds(1)
    ) {
        self.adaptive = adaptive
        self.minLimit = minLimit
        self.maxLimit = maxLimit
        self.initialLimit = initialLimit
        self.queue = queue
        self.queueTimeout = queueTimeout
        self.retryAfter = retryAfter
    }

    /// The limit's settings (tolerance, smoothing and windows keep their defaults).
    var limitSettings: AdaptiveConcurrencyLimit.Settings {
        AdaptiveConcurrencyLimit.Settings(minLimit: minLimit, maxLimit: maxLimit, initialLimit: initialLimit, adaptive: adaptive)
    }

    /// Cross-field problems as (field under `base`, message); `base` is `upstream.NAME.concurrency`.
    func problems(base: String) -> [(field: String, message: String)] {
        var out: [(field: String, message: String)] = []
        if minLimit < 1 { out.append(("\(base).min_limit", "must be at least 1 (got \(minLimit))")) }
        if maxLimit < minLimit {
            out.append(("\(base).max_limit", "smaller than min_limit (\(maxLimit) < \(minLimit))"))
        }
        if adaptive && (initialLimit < minLimit || initialLimit > maxLimit) {
            out.append(("\(base).initial_limit", "must lie between min_limit and max_limit (\(minLimit)…\(maxLimit), got \(initialLimit))"))
        }
        if queue < 0 { out.append(("\(base).queue", "must not be negative (got \(queue))")) }
        if queueTimeout.nanoseconds <= 0 && queue > 0 {
            out.append(("\(base).queue_timeout", "must be positive while queue > 0"))
        }
        return out
    }
}
