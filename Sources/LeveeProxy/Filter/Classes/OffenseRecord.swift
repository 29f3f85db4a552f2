import Levee

/// What the filter remembers about clients that went over limits, kept in the core's keyed
/// tables (bounded memory, lock-free lookups) rather than in a table of its own:
///
/// - *suspicion*: a bucket of one token refilled every `suspiciousFor`. An offence takes the
///   token, so the client is suspicious until it is back (at least `suspiciousFor` after the
///   first offence of a streak).
/// - *strikes*: a bucket with the ban threshold as quota (`"10/min burst 20"`). Each offence
///   takes a token; an offence the bucket cannot pay for means the client keeps exceeding after
///   being told, and earns a ban.
public final class OffenseRecord: Sendable {
    private let suspicion: KeyedRateLimiter
    private let strikes: KeyedRateLimiter
    private let suspicionQuota: Quota
    public let strikeQuota: Quota

    public init(suspiciousFor: Duration, strikeQuota: Quota, capacity: Int, clock: any LimiterClock) {
        suspicion = KeyedRateLimiter(capacity: capacity, clock: clock)
        strikes = KeyedRateLimiter(capacity: capacity, clock: clock)
        let window = suspiciousFor > .zero ? suspiciousFor : .seconds(1)
        suspicionQuota = Quota(rate: 1, period: window, burst: 1)
        self.strikeQuota = strikeQuota
    }

    /// Records one offence; returns true when the client has now run out of strikes.
    public func recordOffense(_ key: LimiterKey, at now: UInt64) -> Bool {
        _ = suspicion.acquire(key, quota: suspicionQuota, at: now)
        return !strikes.acquire(key, quota: strikeQuota, at: now).isAllowed
    }

    /// Whether the client offended recently.
    public func isSuspicious(_ key: LimiterKey, at now: UInt64) -> Bool {
        suspicion.peek(key, quota: suspicionQuota, at: now).resetAfterNanoseconds > 0
    }

    /// Forgets a client's offences (when an operator lifts its ban).
    public func forgive(_ key: LimiterKey, at now: UInt64) {
        suspicion.setTokens(1, for: key, quota: suspicionQuota, at: now)
        strikes.setTokens(strikeQuota.burst, for: key, quota: strikeQuota, at: now)
    }
}
