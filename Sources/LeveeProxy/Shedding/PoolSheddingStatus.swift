/// The `shedding` part of a pool in `/status`: its concurrency limit, what is in flight and
/// waiting, and what was shed, by client class and reason.
public struct PoolSheddingStatus: Sendable, Codable, Equatable {
    /// Whether the limit adapts to round-trip times (false: fixed at `maxLimit`).
    public var adaptive: Bool
    /// Requests that may be in flight now.
    public var limit: Int
    public var minLimit: Int
    public var maxLimit: Int
    /// Requests admitted and not finished.
    public var inFlight: Int
    /// Requests waiting for a slot.
    public var queueDepth: Int
    public var queueCapacity: Int
    /// Mean round-trip time (ms) of the last window, and the long-term baseline it is compared to.
    public var shortRTTMilliseconds: Double
    public var longRTTMilliseconds: Double
    /// Shed requests: class → reason (`concurrency`, `queue-timeout`) → count.
    public var shed: [String: [String: Int]]

    public init(
        adaptive: Bool, limit: Int, minLimit: Int, maxLimit: Int, inFlight: Int, queueDepth: Int, queueCapacity: Int,
        shortRTTMilliseconds: Double, longRTTMilliseconds: Double, shed: [String: [String: Int]]
    ) {
        self.adaptive = adaptive
        self.limit = limit
        self.minLimit = minLimit
        self.maxLimit = maxLimit
        self.inFlight = inFlight
        self.queueDepth = queueDepth
        self.queueCapacity = queueCapacity
        self.shortRTTMilliseconds = shortRTTMilliseconds
        self.longRTTMilliseconds = longRTTMilliseconds
        self.shed = shed
    }

    /// Shed requests of `clientClass` for `reason`.
    public func shed(_ clientClass: ClientClass, _ reason: ConcurrencyShedReason) -> Int {
        shed[clientClass.rawValue]?[reason.rawValue] ?? 0
    }
}
