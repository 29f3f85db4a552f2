import Levee
import LeveeRESP
import NIOCore
import Synchronization

/// A quota shared by a fleet of instances through Redis, decided locally.
///
/// Each instance takes tokens from the shared Redis bucket in batches (leases of
/// ``FleetRule/leaseSize`` tokens, by ``RedisGCRAScript``) and spends them locally through the
/// core. ``acquire(key:cost:)`` never waits on Redis: it spends a leased token (lock-free), and
/// when the balance of a key falls to ``FleetRule/refillThreshold`` it starts one lease request
/// in the background. A key this instance has never seen may spend ``FleetRule/initialCredit``
/// tokens before its first lease arrives; that credit is charged to Redis with the lease.
///
/// Over any window of length `t`, a fleet of `I` instances admits for one key at most
/// `burst + rate × t + I × (leaseSize + initialCredit)` (``FleetRule/admissionBound(instances:window:)``;
/// derivation in docs/fleet.md).
///
/// When Redis cannot be reached, the rule's ``FleetFailMode`` applies once a key's leased
/// tokens are spent: `open` limits locally with the fallback quota through the core's
/// `KeyedRateLimiter`; `closed` denies. Lease requests keep being tried (at most one per key
/// per ``FleetRule/failureRetryInterval``) while the client reconnects with backoff, and the
/// first answered one brings the rule back to Redis — no restart needed.
public final class FleetLimiter: Sendable {
    /// The rule this limiter enforces.
    public let rule: FleetRule
    /// The Redis side.
    public let gcra: RedisGCRA
    /// The local time source (for fail-open decisions and retry timers).
    public let clock: any LimiterClock

    private let table: FleetLeaseTable
    /// The balance cell's quota: only its burst (the lease size) matters at a frozen instant.
    private let leaseQuota: Quota
    private let fallback: KeyedRateLimiter?
    private let redisAvailable = Atomic<Bool>(true)
    private let counters = FleetLimiterCounters()

    /// A limiter for `rule` on Redis through `gcra`, tracking at most `capacity` keys locally.
    public init(rule: FleetRule, gcra: RedisGCRA, capacity: Int = 65_536, clock: any LimiterClock = MonotonicClock()) {
        self.rule = rule
        self.gcra = gcra
        self.clock = clock
        self.table = FleetLeaseTable(capacity: capacity)
        self.leaseQuota = Quota(rate: 1, period: .seconds(1), burst: rule.leaseSize)
        if case .open = rule.failMode {
            fallback = KeyedRateLimiter(capacity: capacity, clock: clock)
        } else {
            fallback = nil
        }
    }

    /// Whether the last Redis call succeeded; when false the fail mode applies.
    public var isRedisAvailable: Bool { redisAvailable.load(ordering: .relaxed) }

    /// Decides a request of `cost` tokens for client `key` without waiting on anything.
    ///
    /// `key` must be the same text on every instance (an address, a network, a header value):
    /// it names the shared bucket in Redis. `cost` above ``FleetRule/leaseSize`` can never be
    /// admitted (the answer says so with a retry-after of ``RateLimitDecision/never``).
    public func acquire(key: String, cost: Int = 1) -> RateLimitDecision {
        let now = clock.now()
        let entry = table.entry(for: key, now: now) {
            FleetLeaseEntry(redisKey: gcra.redisKey(rule: rule.name, key: key), leaseQuota: leaseQuota,
                            credit: rule.initialCredit, now: now)
        }
        guard cost <= rule.leaseSize else {
            counters.denied.add(1)
            return deny(retryAfter: RateLimitDecision.never)
        }
        let local = entry.balance.acquire(quota: leaseQuota, cost: cost, at: 0)
        if local.isAllowed {
            if local.remaining <= rule.refillThreshold { requestLease(entry, now: now) }
            counters.admitted.add(1)
            return allow(remaining: local.remaining)
        }
        // Credit first, so that the lease request about to start carries it as debt.
        if takeCredit(entry, cost: cost) {
            requestLease(entry, now: now)
            counters.admitted.add(1)
            counters.admittedOnCredit.add(cost, ordering: .relaxed)
            return allow(remaining: 0)
        }
        requestLease(entry, now: now)
        if !redisAvailable.load(ordering: .relaxed) {
            switch rule.failMode {
            case .open(let fallbackQuota):
                let decision = fallback!.acquire(LimiterKey(key), quota: fallbackQuota, cost: cost, at: now)
                if decision.isAllowed {
                    counters.admitted.add(1)
                    counters.failOpenAdmitted.add(1, ordering: .relaxed)
                } else {
                    counters.denied.add(1)
                    counters.failOpenDenied.add(1, ordering: .relaxed)
                }
                return decision
            case .closed:
                counters.denied.add(1)
                counters.failClosedDenied.add(1, ordering: .relaxed)
                return deny(retryAfter: max(1, rule.failureRetryInterval.clampedNanoseconds))
            }
        }
        counters.denied.add(1)
        let retryAt = entry.globalRetryAt.load(ordering: .relaxed)
        let interval = UInt64(rule.quota.redisIntervalMicroseconds) * 1_000
        return deny(retryAfter: retryAt > now ? retryAt - now : interval * UInt64(cost))
    }

    /// Gives back `tokens` taken by ``acquire(key:cost:)`` for a request that was not carried
    /// out (a later limit of a multi-limit check denied it). They return to this instance's
    /// local balance, capped at one lease, so the over-admission bound is unchanged.
    public func refund(key: String, tokens: Int) {
        guard tokens > 0 else { return }
        let now = clock.now()
        let entry = table.entry(for: key, now: now) {
            FleetLeaseEntry(redisKey: gcra.redisKey(rule: rule.name, key: key), leaseQuota: leaseQuota,
                            credit: rule.initialCredit, now: now)
        }
        entry.balance.addTokens(tokens, quota: leaseQuota, at: 0)
    }

    /// A snapshot of the counters, including the Redis client's.
    public var statistics: FleetLimiterStatistics {
        FleetLimiterStatistics(
            redisAvailable: isRedisAvailable,
            admitted: counters.admitted.value,
            denied: counters.denied.value,
            admittedOnCredit: counters.admittedOnCredit.load(ordering: .relaxed),
            failOpenAdmitted: counters.failOpenAdmitted.load(ordering: .relaxed),
            failOpenDenied: counters.failOpenDenied.load(ordering: .relaxed),
            failClosedDenied: counters.failClosedDenied.load(ordering: .relaxed),
            leaseRequests: counters.leaseRequests.load(ordering: .relaxed),
            leaseSuccesses: counters.leaseSuccesses.load(ordering: .relaxed),
            leaseFailures: counters.leaseFailures.load(ordering: .relaxed),
            tokensLeased: counters.tokensLeased.load(ordering: .relaxed),
            trackedKeys: table.count,
            evictions: table.evictions.load(ordering: .relaxed),
            redis: gcra.client.statistics)
    }

    // MARK: - Leases

    /// Starts a lease request for `entry` unless one is on its way or it is too early.
    private func requestLease(_ entry: FleetLeaseEntry, now: UInt64) {
        guard now >= entry.notBefore.load(ordering: .relaxed),
              entry.leaseInFlight.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return }
        // Held plus requested never exceeds one lease, which is what bounds over-admission.
        let held = entry.balance.peek(quota: leaseQuota, at: 0).remaining
        let want = rule.leaseSize - held
        let debt = entry.debt.exchange(0, ordering: .relaxed)
        guard want > 0 || debt > 0 else {
            entry.leaseInFlight.store(false, ordering: .releasing)
            return
        }
        counters.leaseRequests.add(1, ordering: .relaxed)
        gcra.lease(key: entry.redisKey, quota: rule.quota, upTo: want, debt: debt).whenComplete { result in
            self.leaseAnswered(entry, wanted: want, debt: debt, result: result)
        }
    }

    private func leaseAnswered(_ entry: FleetLeaseEntry, wanted: Int, debt: Int, result: Result<RedisGCRAReply, any Error>) {
        let now = clock.now()
        switch result {
        case .success(let reply):
            entry.balance.addTokens(reply.granted, quota: leaseQuota, at: 0)
            entry.credit.store(0, ordering: .relaxed)
            if reply.granted < wanted {
                // The shared bucket is (nearly) empty: do not ask again before it holds a token.
                let wait = reply.retryAfterNanoseconds(cost: 1, quota: rule.quota)
                entry.notBefore.store(now + wait, ordering: .relaxed)
                entry.globalRetryAt.store(now + wait, ordering: .relaxed)
            } else {
                entry.notBefore.store(0, ordering: .relaxed)
            }
            counters.leaseSuccesses.add(1, ordering: .relaxed)
            counters.tokensLeased.add(reply.granted, ordering: .relaxed)
            redisAvailable.store(true, ordering: .relaxed)
        case .failure:
            entry.debt.add(debt, ordering: .relaxed)  // still owed: charged with the next lease
            entry.notBefore.store(now + rule.failureRetryInterval.clampedNanoseconds, ordering: .relaxed)
            counters.leaseFailures.add(1, ordering: .relaxed)
            redisAvailable.store(false, ordering: .relaxed)
        }
        entry.leaseInFlight.store(false, ordering: .releasing)
    }

    /// Spends initial credit (a key's first requests, before any lease has arrived).
    private func takeCredit(_ entry: FleetLeaseEntry, cost: Int) -> Bool {
        var left = entry.credit.load(ordering: .relaxed)
        while left >= cost {
            let (exchanged, original) = entry.credit.compareExchange(expected: left, desired: left - cost, ordering: .relaxed)
            if exchanged {
                entry.debt.add(cost, ordering: .relaxed)
                return true
            }
            left = original
        }
        return false
    }

    // MARK: - Decisions

    private func allow(remaining: Int) -> RateLimitDecision {
        RateLimitDecision(isAllowed: true, remaining: remaining, limit: rule.quota.burst,
                          retryAfterNanoseconds: 0, resetAfterNanoseconds: 0)
    }

    private func deny(retryAfter: UInt64) -> RateLimitDecision {
        RateLimitDecision(isAllowed: false, remaining: 0, limit: rule.quota.burst,
                          retryAfterNanoseconds: retryAfter,
                          resetAfterNanoseconds: UInt64(rule.quota.redisToleranceMicroseconds) * 1_000)
    }
}
