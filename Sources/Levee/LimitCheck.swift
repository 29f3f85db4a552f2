/// One limit of a ``MultiLimitCheck``: a bucket (keyed or not), the quota and the cost.
public struct LimitCheck: Sendable {
    /// Where the bucket lives.
    public enum Target: Sendable {
        /// `key`'s bucket in a keyed table (per client, per network, per user …).
        case keyed(KeyedRateLimiter, LimiterKey)
        /// A single bucket (per route, global …).
        case cell(GCRACell)
    }

    /// The bucket.
    public var target: Target
    /// The quota to decide against.
    public var quota: Quota
    /// Tokens this request costs against this limit.
    public var cost: Int

    /// A check of `target` against `quota` for `cost` tokens.
    public init(_ target: Target, quota: Quota, cost: Int = 1) {
        self.target = target
        self.quota = quota
        self.cost = cost
    }

    /// A check of `key` in `limiter`.
    public static func keyed(_ limiter: KeyedRateLimiter, key: LimiterKey, quota: Quota, cost: Int = 1) -> LimitCheck {
        LimitCheck(.keyed(limiter, key), quota: quota, cost: cost)
    }

    /// A check of a single limiter with its own quota.
    public static func single(_ limiter: RateLimiter, cost: Int = 1) -> LimitCheck {
        LimitCheck(.cell(limiter.cell), quota: limiter.quota, cost: cost)
    }

    @inlinable
    func acquire(at now: UInt64) -> RateLimitDecision {
        switch target {
        case .keyed(let limiter, let key): limiter.acquire(key, quota: quota, cost: cost, at: now)
        case .cell(let cell): cell.acquire(quota: quota, cost: cost, at: now)
        }
    }

    @usableFromInline
    func refund(at now: UInt64) {
        switch target {
        case .keyed(let limiter, let key): limiter.refund(key, quota: quota, tokens: cost, at: now)
        case .cell(let cell): cell.addTokens(cost, quota: quota, at: now)
        }
    }
}
