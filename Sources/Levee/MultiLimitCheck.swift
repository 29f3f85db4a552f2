/// One request against several limits at once — per client, per network, per route, global —
/// all or nothing: when a later limit denies, the tokens already taken from the earlier ones
/// are given back, so a denied request costs no limit anything.
///
/// The refund is exact: a bucket that nobody else touched meanwhile is left as it was before
/// the check. (Requests admitted concurrently by the refunded limits may see one bucket a few
/// tokens emptier for the instant between the take and the refund; no token is ever created.)
///
/// ```swift
/// let result = MultiLimitCheck.acquireAll([
///     .keyed(perClient, key: client, quota: clientQuota),
///     .keyed(perNetwork, key: client.network(prefixLength: 24), quota: networkQuota),
///     .single(global),
/// ])
/// ```
public enum MultiLimitCheck {
    /// The outcome of a multi-limit check.
    public struct Result: Sendable, Hashable {
        /// Whether every limit admitted the request (and all of them were charged).
        public let isAllowed: Bool
        /// The decision to report to the client: when denied, the denying limit's; when
        /// admitted, the one with the fewest remaining tokens (the limit closest to biting).
        public let decision: RateLimitDecision
        /// The position of `decision`'s limit in the checks (nil when there were no checks).
        public let index: Int?

        /// Creates a result (limiters build these; adapters may too).
        @inlinable
        public init(isAllowed: Bool, decision: RateLimitDecision, index: Int?) {
            self.isAllowed = isAllowed
            self.decision = decision
            self.index = index
        }
    }

    /// Checks `checks` in order at `now` (one clock reading for all of them, in nanoseconds of
    /// the limiters' clock) and refunds on the first denial. Does not allocate for arrays,
    /// buffers or other collections passed in.
    @inlinable
    public static func acquireAll<Checks: Collection>(_ checks: Checks, at now: UInt64) -> Result
    where Checks.Element == LimitCheck {
        var binding: RateLimitDecision?
        var bindingIndex: Int?
        var position = 0
        for check in checks {
            let decision = check.acquire(at: now)
            if !decision.isAllowed {
                var undo = 0
                for taken in checks {
                    guard undo < position else { break }
                    taken.refund(at: now)
                    undo += 1
                }
                return Result(isAllowed: false, decision: decision, index: position)
            }
            if binding == nil || decision.remaining < binding!.remaining {
                binding = decision
                bindingIndex = position
            }
            position += 1
        }
        return Result(
            isAllowed: true,
            decision: binding ?? RateLimitDecision(isAllowed: true, remaining: Int.max, limit: Int.max,
                                                   retryAfterNanoseconds: 0, resetAfterNanoseconds: 0),
            index: bindingIndex)
    }

    /// Checks `checks` in order now, reading `clock` once; see ``acquireAll(_:at:)``.
    @inlinable
    public static func acquireAll<Checks: Collection>(_ checks: Checks, clock: some LimiterClock = MonotonicClock()) -> Result
    where Checks.Element == LimitCheck {
        acquireAll(checks, at: clock.now())
    }
}
