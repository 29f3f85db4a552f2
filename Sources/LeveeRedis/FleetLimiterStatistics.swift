import LeveeRESP

/// A snapshot of a ``FleetLimiter``'s counters (monotonic since creation) for export as metrics.
public struct FleetLimiterStatistics: Sendable, Hashable {
    /// Whether the last Redis call of this rule succeeded (false: the fail mode applies).
    public var redisAvailable: Bool
    /// Requests admitted (from leased tokens, initial credit, or the fail-open fallback).
    public var admitted: Int
    /// Requests denied (global quota spent, fail-closed, or the fail-open fallback spent).
    public var denied: Int
    /// Of `admitted`: tokens spent on initial credit before a key's first lease.
    public var admittedOnCredit: Int
    /// Of `admitted`: admitted by the local fallback while Redis was unavailable (fail-open).
    public var failOpenAdmitted: Int
    /// Of `denied`: denied by the local fallback while Redis was unavailable (fail-open).
    public var failOpenDenied: Int
    /// Of `denied`: denied because Redis was unavailable (fail-closed).
    public var failClosedDenied: Int
    /// Lease requests sent to Redis.
    public var leaseRequests: Int
    /// Lease requests answered.
    public var leaseSuccesses: Int
    /// Lease requests that failed (timeout, connection, or Redis error).
    public var leaseFailures: Int
    /// Tokens granted by Redis over all leases.
    public var tokensLeased: Int
    /// Keys with local lease state right now.
    public var trackedKeys: Int
    /// Keys dropped from the local table to stay within its capacity (their unspent tokens
    /// are lost to the fleet, never duplicated).
    public var evictions: Int
    /// The Redis client's counters: errors, timeouts, reconnects, latency.
    public var redis: RESPClientStatistics
}
