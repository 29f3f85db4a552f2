/// The answer to one request against one quota: everything a server needs for `Retry-After`
/// and for the IETF `RateLimit` / `RateLimit-Policy` response fields.
///
/// Times are relative to the instant of the decision. All fields are exact integers of
/// nanoseconds; the `…Seconds` forms round **up**, so a client that waits `retryAfterSeconds`
/// and retries succeeds (if nothing else spent the key's tokens meanwhile).
public struct RateLimitDecision: Sendable, Hashable, CustomStringConvertible {
    /// Whether the request was admitted (and its cost taken from the bucket).
    public let isAllowed: Bool
    /// Whole tokens left in the bucket after this decision (0 when denied and empty).
    /// Computed on use: the hot path stores the credit in nanoseconds and skips the division.
    @inlinable
    public var remaining: Int { Int(remainingNanoseconds / intervalNanoseconds) }
    /// Credit left in the bucket, in nanoseconds (``remaining`` × interval plus a fraction).
    @usableFromInline let remainingNanoseconds: UInt64
    /// Nanoseconds per token (1 when the decision was built from a token count).
    @usableFromInline let intervalNanoseconds: UInt64
    /// The bucket size (the quota's burst): the `limit` of the RateLimit field.
    public let limit: Int
    /// Nanoseconds until the same request would be admitted: 0 when allowed,
    /// ``RateLimitDecision/never`` when the cost exceeds the burst and can never be admitted.
    public let retryAfterNanoseconds: UInt64
    /// Nanoseconds until the bucket is full again (the key is then indistinguishable from new).
    public let resetAfterNanoseconds: UInt64

    /// The `retryAfterNanoseconds` of a request whose cost is larger than the burst.
    public static let never: UInt64 = UInt64(Int64.max)

    /// Creates a decision (used by limiters; tests and adapters may build their own).
    public init(isAllowed: Bool, remaining: Int, limit: Int, retryAfterNanoseconds: UInt64, resetAfterNanoseconds: UInt64) {
        self.init(isAllowed: isAllowed, remainingNanoseconds: UInt64(max(remaining, 0)), intervalNanoseconds: 1,
                  limit: limit, retryAfterNanoseconds: retryAfterNanoseconds, resetAfterNanoseconds: resetAfterNanoseconds)
    }

    @inlinable
    init(isAllowed: Bool, remainingNanoseconds: UInt64, intervalNanoseconds: UInt64, limit: Int,
         retryAfterNanoseconds: UInt64, resetAfterNanoseconds: UInt64) {
        self.isAllowed = isAllowed
        self.remainingNanoseconds = remainingNanoseconds
        self.intervalNanoseconds = intervalNanoseconds
        self.limit = limit
        self.retryAfterNanoseconds = retryAfterNanoseconds
        self.resetAfterNanoseconds = resetAfterNanoseconds
    }

    /// Decisions are equal when everything they report is equal.
    public static func == (lhs: RateLimitDecision, rhs: RateLimitDecision) -> Bool {
        lhs.isAllowed == rhs.isAllowed && lhs.remaining == rhs.remaining && lhs.limit == rhs.limit
            && lhs.retryAfterNanoseconds == rhs.retryAfterNanoseconds && lhs.resetAfterNanoseconds == rhs.resetAfterNanoseconds
    }

    /// Hashes what the decision reports.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(isAllowed)
        hasher.combine(remaining)
        hasher.combine(limit)
        hasher.combine(retryAfterNanoseconds)
        hasher.combine(resetAfterNanoseconds)
    }

    /// Time until the same request would be admitted (zero when allowed).
    public var retryAfter: Duration { .nanoseconds(Int64(retryAfterNanoseconds)) }
    /// Time until the bucket is full again.
    public var resetAfter: Duration { .nanoseconds(Int64(resetAfterNanoseconds)) }

    /// `retryAfter` in whole seconds, rounded up (for the `Retry-After` header).
    /// A request that can never succeed reports `Int.max`.
    public var retryAfterSeconds: Int { RateLimitDecision.secondsRoundedUp(retryAfterNanoseconds) }
    /// `resetAfter` in whole seconds, rounded up (for the `RateLimit` field's `t`).
    public var resetAfterSeconds: Int { RateLimitDecision.secondsRoundedUp(resetAfterNanoseconds) }

    /// Whether waiting can ever make this request succeed (false when its cost exceeds the burst).
    public var canSucceedLater: Bool { isAllowed || retryAfterNanoseconds != RateLimitDecision.never }

    static func secondsRoundedUp(_ nanoseconds: UInt64) -> Int {
        if nanoseconds == never { return Int.max }
        return Int((nanoseconds / 1_000_000_000) + (nanoseconds % 1_000_000_000 == 0 ? 0 : 1))
    }

    /// `allowed remaining=3/10 retry-after=0ns reset-after=…ns`, for logs and test failures.
    public var description: String {
        "\(isAllowed ? "allowed" : "denied") remaining=\(remaining)/\(limit) retry-after=\(retryAfterNanoseconds)ns reset-after=\(resetAfterNanoseconds)ns"
    }
}
