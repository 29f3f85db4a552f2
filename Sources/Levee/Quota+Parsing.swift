extension Quota {
    /// Parses `"100/s"`, `"6000/min burst 200"`, `"1/h"`, `"5/10s"`, `"30/2min burst=5"`.
    ///
    /// Grammar (case-insensitive, spaces optional around `/`):
    /// `RATE "/" [COUNT] UNIT [ "burst" ["="] BURST ]` where UNIT is `ns`, `us`, `ms`,
    /// `s`/`sec`/`second(s)`, `m`/`min`/`minute(s)`, `h`/`hr`/`hour(s)` or `d`/`day(s)`,
    /// and a missing burst means `burst = rate`.
    ///
    /// - Throws: ``QuotaParseError`` naming the input and what was wrong with it.
    public init(parsing text: String) throws(QuotaParseError) {
        let input = String(text.trimmingSpaces)
        func fail(_ reason: QuotaParseError.Reason) -> QuotaParseError {
            QuotaParseError(input: input, reason: reason)
        }
        guard !input.isEmpty else { throw fail(.empty) }
        guard let slash = input.firstIndex(of: "/") else { throw fail(.missingPeriod) }

        let rate = try Quota.parseCount(input[..<slash].trimmingSpaces, field: "rate", input: input)

        // After the slash: "[COUNT]UNIT" then optionally "burst N" / "burst=N".
        var rest = Substring(input[input.index(after: slash)...].trimmingSpaces.lowercased())
        let periodEnd = rest.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? rest.endIndex
        let periodText = rest[..<periodEnd]
        rest = rest[periodEnd...].trimmingSpaces

        let digits = periodText.prefix(while: { $0.isASCII && $0.isNumber })
        let unit = periodText[digits.endIndex...]
        let multiple = digits.isEmpty ? 1 : try Quota.parseCount(digits, field: "period", input: input)
        guard !unit.isEmpty else { throw fail(.unknownUnit(String(periodText))) }
        guard let unitNanoseconds = Quota.unitNanoseconds[String(unit)] else { throw fail(.unknownUnit(String(unit))) }
        let (periodNanoseconds, overflow) = UInt64(multiple).multipliedReportingOverflow(by: unitNanoseconds)
        guard !overflow, periodNanoseconds <= UInt64(Int64.max) else { throw fail(.overflow(field: "period")) }

        var burst: Int?
        if !rest.isEmpty {
            guard rest.hasPrefix("burst") else { throw fail(.unexpectedText(String(rest))) }
            var value = rest.dropFirst("burst".count).trimmingSpaces
            if value.hasPrefix("=") { value = value.dropFirst().trimmingSpaces }
            guard !value.isEmpty else { throw fail(.notANumber(field: "burst", text: "")) }
            if let space = value.firstIndex(where: { $0 == " " || $0 == "\t" }) {
                throw fail(.unexpectedText(String(value[space...].trimmingSpaces)))
            }
            burst = try Quota.parseCount(value, field: "burst", input: input)
        }

        do throws(QuotaParseError) {
            self = try Quota.validated(rate: rate, period: .nanoseconds(Int64(periodNanoseconds)), burst: burst)
        } catch {
            throw fail(error.reason)
        }
    }

    private static let unitNanoseconds: [String: UInt64] = {
        var units: [String: UInt64] = [:]
        for name in ["ns", "nanosecond", "nanoseconds"] { units[name] = 1 }
        for name in ["us", "µs", "microsecond", "microseconds"] { units[name] = 1_000 }
        for name in ["ms", "millisecond", "milliseconds"] { units[name] = 1_000_000 }
        for name in ["s", "sec", "secs", "second", "seconds"] { units[name] = 1_000_000_000 }
        for name in ["m", "min", "mins", "minute", "minutes"] { units[name] = 60_000_000_000 }
        for name in ["h", "hr", "hrs", "hour", "hours"] { units[name] = 3_600_000_000_000 }
        for name in ["d", "day", "days"] { units[name] = 86_400_000_000_000 }
        return units
    }()

    /// A positive decimal integer, with errors for signs, junk, zero and overflow.
    private static func parseCount(_ text: Substring, field: String, input: String) throws(QuotaParseError) -> Int {
        let text = text.trimmingSpaces
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }), text.count > 1 {
            throw QuotaParseError(input: input, reason: .notPositive(field: field))
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw QuotaParseError(input: input, reason: .notANumber(field: field, text: String(text)))
        }
        guard let value = Int(text) else { throw QuotaParseError(input: input, reason: .overflow(field: field)) }
        guard value > 0 else { throw QuotaParseError(input: input, reason: .notPositive(field: field)) }
        return value
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (no Foundation needed).
    var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        let s = self[...]
        guard let first = s.firstIndex(where: { !isSpace($0) }),
              let last = s.lastIndex(where: { !isSpace($0) }) else { return Substring() }
        return Substring(s[first...last])
    }
}
