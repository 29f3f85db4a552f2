import Levee
import Synchronization

/// One client key's lease state in one instance. Every field is an atomic: the hot path reads
/// and spends without locks, the lease callback (on the Redis client's event loop) tops up.
final class FleetLeaseEntry: Sendable {
    /// The Redis key of this client under the rule.
    let redisKey: String
    /// Leased tokens not yet spent: a core GCRA cell driven at a frozen instant (always time 0),
    /// where no time passes and so nothing is earned — exactly a bucket filled only by leases,
    /// spent with the core's one-CAS `acquire` and topped up with its `addTokens`.
    let balance = GCRACell()
    /// Whether a lease request is on its way (at most one per key).
    let leaseInFlight = Atomic<Bool>(false)
    /// Tokens admitted on credit and not yet charged to Redis.
    let debt = Atomic<Int>(0)
    /// Initial credit left (zeroed once the first lease arrives).
    let credit: Atomic<Int>
    /// Clock time before which no new lease is requested (Redis empty, or Redis failing).
    let notBefore = Atomic<UInt64>(0)
    /// Clock time at which Redis expects to hold a token again (for Retry-After when denied).
    let globalRetryAt = Atomic<UInt64>(0)
    /// Clock time of the last request, for eviction.
    let lastUsed: Atomic<UInt64>

    init(redisKey: String, leaseQuota: Quota, credit: Int, now: UInt64) {
        self.redisKey = redisKey
        self.credit = Atomic(credit)
        self.lastUsed = Atomic(now)
        balance.setTokens(0, quota: leaseQuota, at: 0)
    }
}
