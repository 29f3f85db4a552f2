/// A rate limit: `rate` tokens per `period`, with a bucket that holds at most `burst` tokens.
///
/// Levee runs every quota as GCRA (the generic cell rate algorithm), which is a token bucket
/// written as one timestamp:
///
/// - One token is earned every *emission interval* `period / rate`, rounded **up** to a whole
///   nanosecond, so a quota never admits more than it says.
/// - The bucket holds at most `burst` tokens. An idle key (never seen, evicted, or quiet for
///   `burst` emission intervals) has a **full** bucket: it may spend `burst` tokens at once.
/// - Over any window of length `t`, at most `burst + rate × t / period` tokens are admitted.
///
/// When `burst` is not given it equals `rate`: `"100/s"` admits 100 requests at once from idle
/// and then 100 per second, which is what "100 per second" means to most people (it is what a
/// counting window would admit in its first second). Write `burst 1` for nginx's strict pacing.
///
/// ```swift
/// let api = try Quota(parsing: "6000/min burst 200")
/// let strict = Quota(rate: 10, period: .seconds(1), burst: 1)
/// ```
public struct Quota: Sendable, Hashable, CustomStringConvertible {
    /// Tokens earned per `period`.
    public let rate: Int
    /// The period over which `rate` tokens are earned.
    public let period: Duration
    /// The bucket size: the most tokens an idle key can spend at once (at least 1).
    public let burst: Int

    /// Nanoseconds per token: `period / rate` rounded up.
    public let emissionIntervalNanoseconds: UInt64
    /// Nanoseconds of credit a full bucket holds: `burst × emissionIntervalNanoseconds`.
    public let toleranceNanoseconds: UInt64

    /// The largest tolerance (`burst × period / rate`) a quota may have: about 9 years.
    ///
    /// Together with clocks below 2^59 ns (18 years of uptime) this keeps every timestamp the
    /// limiter computes within 60 bits, which leaves room for the slot generation tag.
    public static let maximumToleranceNanoseconds: UInt64 = 1 << 58

    /// Creates a quota of `rate` tokens per `period` with a bucket of `burst` tokens.
    ///
    /// - Parameters:
    ///   - rate: tokens per period, at least 1.
    ///   - period: a positive duration of at least one nanosecond per token.
    ///   - burst: bucket size, at least 1; `nil` means `rate` (see the type's documentation).
    /// - Precondition: the values are valid. Use ``validated(rate:period:burst:)`` for values
    ///   that come from outside the program; it throws a ``QuotaParseError`` instead.
    public init(rate: Int, period: Duration, burst: Int? = nil) {
        do {
            self = try Quota.validated(rate: rate, period: period, burst: burst)
        } catch {
            preconditionFailure("\(error)")
        }
    }

    /// Creates a quota from values that may be invalid, throwing an error that says which.
    public static func validated(rate: Int, period: Duration, burst: Int? = nil) throws(QuotaParseError) -> Quota {
        let text = "\(rate)/\(period)" + (burst.map { " burst \($0)" } ?? "")
        guard rate > 0 else { throw QuotaParseError(input: text, reason: .notPositive(field: "rate")) }
        let burst = burst ?? rate
        guard burst > 0 else { throw QuotaParseError(input: text, reason: .notPositive(field: "burst")) }
        guard let periodNanoseconds = Quota.nanoseconds(of: period) else {
            throw QuotaParseError(input: text, reason: .overflow(field: "period"))
        }
        guard periodNanoseconds > 0 else { throw QuotaParseError(input: text, reason: .notPositive(field: "period")) }
        guard UInt64(rate) <= periodNanoseconds else { throw QuotaParseError(input: text, reason: .rateTooHigh) }
        // Ceiling division: the quota may be marginally stricter than written, never looser.
        let interval = (periodNanoseconds + UInt64(rate) - 1) / UInt64(rate)
        let (tolerance, overflow) = interval.multipliedReportingOverflow(by: UInt64(burst))
        guard !overflow, tolerance <= maximumToleranceNanoseconds else {
            throw QuotaParseError(input: text, reason: .burstTooLarge)
        }
        return Quota(rate: rate, period: period, burst: burst, interval: interval, tolerance: tolerance)
    }

    private init(rate: Int, period: Duration, burst: Int, interval: UInt64, tolerance: UInt64) {
        self.rate = rate
        self.period = period
        self.burst = burst
        self.emissionIntervalNanoseconds = interval
        self.toleranceNanoseconds = tolerance
    }

    /// Whole nanoseconds in a non-negative duration, or nil when it does not fit in 64 bits.
    static func nanoseconds(of duration: Duration) -> UInt64? {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (sum, overflow2) = whole.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
        return overflow2 ? nil : sum
    }

    /// `"6000/min burst 200"`-style text that ``init(parsing:)`` reads back to an equal quota.
    public var description: String {
        "\(rate)/\(Quota.unitText(of: period)) burst \(burst)"
    }

    /// Renders a period as the shortest unit text the parser accepts (`s`, `10s`, `min`, `ms` …).
    static func unitText(of period: Duration) -> String {
        let ns = Quota.nanoseconds(of: period) ?? 0
        for (unit, size) in [("d", 86_400_000_000_000), ("h", 3_600_000_000_000), ("min", 60_000_000_000),
                             ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000), ("ns", 1)] as [(String, UInt64)]
        where ns % size == 0 && ns >= size {
            let count = ns / size
            return count == 1 ? unit : "\(count)\(unit)"
        }
        return "\(ns)ns"
    }
}

extension Quota {
    /// `rate` tokens per second; `burst` defaults to `rate`.
    public static func perSecond(_ rate: Int, burst: Int? = nil) -> Quota {
        Quota(rate: rate, period: .seconds(1), burst: burst)
    }

    /// `rate` tokens per minute; `burst` defaults to `rate`.
    public static func perMinute(_ rate: Int, burst: Int? = nil) -> Quota {
        Quota(rate: rate, period: .seconds(60), burst: burst)
    }

    /// `rate` tokens per hour; `burst` defaults to `rate`.
    public static func perHour(_ rate: Int, burst: Int? = nil) -> Quota {
        Quota(rate: rate, period: .seconds(3600), burst: burst)
    }
}
