import Levee

/// The limiter behind the HTTP adapters (the NIO handler and the Hummingbird middleware):
/// one or more named quotas per key, counters, and the 429 and rate-limit fields the proxy sends.
///
/// Each policy has its own ``KeyedRateLimiter`` table of fixed capacity (memory is bounded
/// whatever keys arrive). A request is checked against all policies at once with the core's
/// ``MultiLimitCheck`` (a later denial refunds the earlier ones), reading the clock once.
/// ``check(_:cost:)`` takes no lock and allocates nothing; the counters are striped.
///
/// ```swift
/// let limiter = HTTPRateLimiter(policies: [
///     try RateLimitPolicy(name: "per-client", parsing: "100/min burst 20"),
///     try RateLimitPolicy(name: "per-client-hour", parsing: "2000/h"),
/// ])
/// ```
public final class HTTPRateLimiter: Sendable {
    /// The result of checking one request.
    public struct Outcome: Sendable, Hashable {
        /// Whether every policy admitted the request.
        public let isAllowed: Bool
        /// The decision to report: the denying policy's, or the one closest to biting.
        public let decision: RateLimitDecision
        /// The position in ``HTTPRateLimiter/policies`` of `decision`'s policy.
        public let policyIndex: Int

        /// Creates an outcome (adapters and tests may build their own).
        public init(isAllowed: Bool, decision: RateLimitDecision, policyIndex: Int) {
            self.isAllowed = isAllowed
            self.decision = decision
            self.policyIndex = policyIndex
        }
    }

    /// A snapshot of the counters.
    public struct Counts: Sendable, Hashable {
        /// Requests admitted by every policy.
        public var allowed: Int
        /// Requests answered 429.
        public var limited: Int
        /// Requests passed through without a check because they had no key.
        public var unkeyed: Int

        /// Creates a snapshot (for comparisons in tests).
        public init(allowed: Int, limited: Int, unkeyed: Int) {
            self.allowed = allowed
            self.limited = limited
            self.unkeyed = unkeyed
        }
    }

    /// The policies, checked in this order.
    public let policies: [RateLimitPolicy]
    /// One keyed table per policy (same order as ``policies``).
    public let tables: [KeyedRateLimiter]
    /// The clock every decision reads.
    public let clock: any LimiterClock
    let headerPolicies: [RateLimitHeaders.Policy]
    let allowedCounter = StripedCounter()
    let limitedCounter = StripedCounter()
    let unkeyedCounter = StripedCounter()

    /// Creates a limiter enforcing every policy of `policies` per key.
    ///
    /// - Parameters:
    ///   - policies: at least one named quota.
    ///   - capacity: keys each policy's table holds (memory is 16 bytes per key); keys beyond it
    ///     evict the entries nearest to full first, as in the proxy.
    ///   - clock: the time source (a ``ManualClock`` in tests).
    public init(policies: [RateLimitPolicy], capacity: Int = 65_536, clock: any LimiterClock = MonotonicClock()) {
        precondition(!policies.isEmpty, "a rate limiter needs at least one policy")
        self.policies = policies
        self.tables = policies.map { _ in KeyedRateLimiter(capacity: capacity, clock: clock) }
        self.clock = clock
        self.headerPolicies = policies.map { RateLimitHeaders.Policy(name: $0.name, quota: $0.quota) }
    }

    /// Creates a limiter enforcing one quota per key, under the policy name `name`.
    public convenience init(_ quota: Quota, name: String = "per-client", capacity: Int = 65_536,
                            clock: any LimiterClock = MonotonicClock()) {
        self.init(policies: [RateLimitPolicy(name: name, quota: quota)], capacity: capacity, clock: clock)
    }

    /// Checks one request of `key` costing `cost` tokens against every policy, and counts it.
    @inlinable
    public func check(_ key: LimiterKey, cost: Int = 1) -> Outcome {
        let outcome = decide(key, cost: cost)
        count(outcome)
        return outcome
    }

    @usableFromInline
    func decide(_ key: LimiterKey, cost: Int) -> Outcome {
        let now = clock.now()
        if tables.count == 1 {
            let decision = tables[0].acquire(key, quota: policies[0].quota, cost: cost, at: now)
            return Outcome(isAllowed: decision.isAllowed, decision: decision, policyIndex: 0)
        }
        // The checks live on the stack for the call: no heap allocation per request.
        return withUnsafeTemporaryAllocation(of: LimitCheck.self, capacity: tables.count) { checks in
            for index in tables.indices {
                (checks.baseAddress! + index).initialize(
                    to: .keyed(tables[index], key: key, quota: policies[index].quota, cost: cost))
            }
            defer { checks.baseAddress!.deinitialize(count: tables.count) }
            let result = MultiLimitCheck.acquireAll(UnsafeBufferPointer(checks), at: now)
            return Outcome(isAllowed: result.isAllowed, decision: result.decision, policyIndex: result.index ?? 0)
        }
    }

    @usableFromInline
    func count(_ outcome: Outcome) {
        (outcome.isAllowed ? allowedCounter : limitedCounter).add()
    }

    /// Counts a request that was passed through unchecked because it had no key.
    public func countUnkeyed() {
        unkeyedCounter.add()
    }

    /// The counters so far (each a sum over stripes; a snapshot while requests run).
    public var counts: Counts {
        Counts(allowed: allowedCounter.value, limited: limitedCounter.value, unkeyed: unkeyedCounter.value)
    }

    /// `RateLimit-Policy` and `RateLimit` for an outcome (the fields of its reporting policy).
    public func fields(for outcome: Outcome) -> [(name: String, value: String)] {
        RateLimitHeaders.fields([RateLimitHeaders.Status(policy: headerPolicies[outcome.policyIndex], decision: outcome.decision)])
    }

    /// The 429 for a denied outcome: `Retry-After`, the rate-limit fields and a problem+json
    /// body (an HTML page when `accept` prefers it) — the proxy's response, built by the same code.
    public func response(for outcome: Outcome, accept: String?) -> RateLimitResponse {
        RateLimitResponse.tooManyRequests(
            retryAfter: outcome.decision.retryAfter,
            statuses: [RateLimitHeaders.Status(policy: headerPolicies[outcome.policyIndex], decision: outcome.decision)],
            accept: accept)
    }
}
