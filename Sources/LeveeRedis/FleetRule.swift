import Levee

/// A quota shared by a whole fleet through Redis, and how this instance leases it.
public struct FleetRule: Sendable, Hashable {
    /// The rule's name: part of every Redis key (`levee:<name>:<client key>`), so it must be the
    /// same on every instance and unique among global rules.
    public var name: String
    /// The quota for the whole fleet, per client key.
    public var quota: Quota
    /// Tokens an instance takes from Redis at a time (at most this many held per key). Larger
    /// leases mean fewer Redis calls and a larger error bound (see docs/fleet.md).
    public var leaseSize: Int
    /// A new lease is requested in the background once the local balance of a key falls to this
    /// many tokens, so that under steady traffic the next lease arrives before the balance runs out.
    public var refillThreshold: Int
    /// Tokens a key never seen by this instance may spend before its first lease arrives, so that
    /// the first request of a client is not denied just because Redis is one round trip away.
    /// They are charged to Redis with the first lease (as debt), so over time nothing is free.
    public var initialCredit: Int
    /// What to do when Redis cannot be reached.
    public var failMode: FleetFailMode
    /// How long after a failed Redis call a key waits before asking again (the `Retry-After` of
    /// fail-closed denials). The client reconnects on its own schedule in the meantime.
    public var failureRetryInterval: Duration

    /// A rule; `leaseSize` defaults to a tenth of the burst (at least 1), `refillThreshold` to
    /// half a lease.
    public init(
        name: String,
        quota: Quota,
        leaseSize: Int? = nil,
        refillThreshold: Int? = nil,
        initialCredit: Int = 1,
        failMode: FleetFailMode = .closed,
        failureRetryInterval: Duration = .milliseconds(200)
    ) {
        self.name = name
        self.quota = quota
        let lease = min(max(leaseSize ?? quota.burst / 10, 1), quota.burst)
        self.leaseSize = lease
        self.refillThreshold = min(max(refillThreshold ?? lease / 2, 0), lease - 1)
        self.initialCredit = max(0, initialCredit)
        self.failMode = failMode
        self.failureRetryInterval = failureRetryInterval
    }

    /// The most tokens a fleet of `instances` can admit for one key in any window of `window`
    /// beyond what the quota itself allows (`burst + rate × window`): every instance may hold a
    /// full lease and spend its initial credit. See docs/fleet.md for the derivation.
    public func overAdmissionBound(instances: Int) -> Int {
        instances * (leaseSize + initialCredit)
    }

    /// The most tokens a fleet of `instances` can admit for one key within `window`:
    /// `burst + ⌊window / interval⌋ + 1 + instances × (leaseSize + initialCredit)`.
    public func admissionBound(instances: Int, window: Duration) -> Int {
        let windowNanoseconds = window.clampedNanoseconds
        let interval = UInt64(quota.redisIntervalMicroseconds) * 1_000
        return quota.burst + Int(windowNanoseconds / interval) + 1 + overAdmissionBound(instances: instances)
    }
}
