/// Why a quota text or quota values were rejected. Its `description` names the input and the
/// fault, e.g. `invalid quota "10/fortnight": unknown unit "fortnight" (use ns, us, ms, s, min, h or d)`.
public struct QuotaParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What exactly was wrong.
    public enum Reason: Hashable, Sendable {
        /// The text was empty or only whitespace.
        case empty
        /// No `/` separating the rate from the period.
        case missingPeriod
        /// A field that must be a whole number was not one.
        case notANumber(field: String, text: String)
        /// A field was zero or negative.
        case notPositive(field: String)
        /// A number did not fit (or the period is longer than 2^64 ns).
        case overflow(field: String)
        /// The period's unit is not one of ns, us, ms, s, min, h, d (and their long forms).
        case unknownUnit(String)
        /// Something followed the quota that is not `burst N`.
        case unexpectedText(String)
        /// More than one token per nanosecond.
        case rateTooHigh
        /// `burst × period / rate` is longer than ``Quota/maximumToleranceNanoseconds``.
        case burstTooLarge
    }

    /// The text (or the values rendered as text) that was rejected.
    public let input: String
    /// What was wrong with it.
    public let reason: Reason

    /// Creates an error for `input`.
    public init(input: String, reason: Reason) {
        self.input = input
        self.reason = reason
    }

    /// A sentence that names the input and the fault.
    public var description: String {
        let why: String
        switch reason {
        case .empty: why = "empty quota (expected e.g. \"100/s\" or \"6000/min burst 200\")"
        case .missingPeriod: why = "missing \"/period\" (expected e.g. \"100/s\")"
        case .notANumber(let field, let text): why = "\(field) \"\(text)\" is not a whole number"
        case .notPositive(let field): why = "\(field) must be greater than zero"
        case .overflow(let field): why = "\(field) is too large"
        case .unknownUnit(let unit): why = "unknown unit \"\(unit)\" (use ns, us, ms, s, min, h or d)"
        case .unexpectedText(let text): why = "unexpected \"\(text)\" (only \"burst N\" may follow the rate)"
        case .rateTooHigh: why = "rate is more than one token per nanosecond"
        case .burstTooLarge: why = "burst × period / rate is longer than about 9 years"
        }
        return "invalid quota \"\(input)\": \(why)"
    }
}
