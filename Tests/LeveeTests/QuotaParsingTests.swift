import Levee
import Testing

@Suite struct QuotaParsingTests {
    struct Good: Sendable, CustomStringConvertible {
        let text: String
        let rate: Int
        let periodNanoseconds: UInt64
        let burst: Int
        var description: String { text }
    }

    static let good: [Good] = [
        Good(text: "100/s", rate: 100, periodNanoseconds: 1_000_000_000, burst: 100),
        Good(text: "6000/min burst 200", rate: 6000, periodNanoseconds: 60_000_000_000, burst: 200),
        Good(text: "1/h", rate: 1, periodNanoseconds: 3_600_000_000_000, burst: 1),
        Good(text: "  5 / 10s  ", rate: 5, periodNanoseconds: 10_000_000_000, burst: 5),
        Good(text: "30/2min burst=5", rate: 30, periodNanoseconds: 120_000_000_000, burst: 5),
        Good(text: "10/SECOND Burst 1", rate: 10, periodNanoseconds: 1_000_000_000, burst: 1),
        Good(text: "1000/ms", rate: 1000, periodNanoseconds: 1_000_000, burst: 1000),
        Good(text: "7/day burst 3", rate: 7, periodNanoseconds: 86_400_000_000_000, burst: 3),
        Good(text: "50/hours", rate: 50, periodNanoseconds: 3_600_000_000_000, burst: 50),
        Good(text: "1/ns", rate: 1, periodNanoseconds: 1, burst: 1),
    ]

    @Test(arguments: good)
    func parsesGoodInput(_ example: Good) throws {
        let quota = try Quota(parsing: example.text)
        #expect(quota.rate == example.rate)
        #expect(quota.period == .nanoseconds(Int64(example.periodNanoseconds)))
        #expect(quota.burst == example.burst)
        // The emission interval rounds up, and the description parses back to the same quota.
        let interval = quota.emissionIntervalNanoseconds
        #expect(interval * UInt64(example.rate) >= example.periodNanoseconds)
        #expect((interval - 1) * UInt64(example.rate) < example.periodNanoseconds)
        #expect(try Quota(parsing: quota.description) == quota)
    }

    struct Bad: Sendable, CustomStringConvertible {
        let text: String
        let reason: QuotaParseError.Reason
        var description: String { text }
    }

    static let bad: [Bad] = [
        Bad(text: "", reason: .empty),
        Bad(text: "   ", reason: .empty),
        Bad(text: "100", reason: .missingPeriod),
        Bad(text: "0/s", reason: .notPositive(field: "rate")),
        Bad(text: "-5/s", reason: .notPositive(field: "rate")),
        Bad(text: "abc/s", reason: .notANumber(field: "rate", text: "abc")),
        Bad(text: "1.5/s", reason: .notANumber(field: "rate", text: "1.5")),
        Bad(text: "99999999999999999999/s", reason: .overflow(field: "rate")),
        Bad(text: "10/fortnight", reason: .unknownUnit("fortnight")),
        Bad(text: "10/", reason: .unknownUnit("")),
        Bad(text: "10/5", reason: .unknownUnit("5")),
        Bad(text: "10/0s", reason: .notPositive(field: "period")),
        Bad(text: "10/99999999999d", reason: .overflow(field: "period")),
        Bad(text: "10/s burst 0", reason: .notPositive(field: "burst")),
        Bad(text: "10/s burst -1", reason: .notPositive(field: "burst")),
        Bad(text: "10/s burst", reason: .notANumber(field: "burst", text: "")),
        Bad(text: "10/s burst x", reason: .notANumber(field: "burst", text: "x")),
        Bad(text: "10/s burst 5 extra", reason: .unexpectedText("extra")),
        Bad(text: "10/s please", reason: .unexpectedText("please")),
        Bad(text: "2000000000/s", reason: .rateTooHigh),
        Bad(text: "1/d burst 99999999", reason: .burstTooLarge),
    ]

    @Test(arguments: bad)
    func rejectsBadInputSayingWhy(_ example: Bad) {
        do {
            let quota = try Quota(parsing: example.text)
            Issue.record("\"\(example.text)\" parsed as \(quota)")
        } catch {
            #expect(error.reason == example.reason)
            #expect(error.description.hasPrefix("invalid quota \""))
        }
    }

    @Test func errorMessagesNameTheFault() {
        #expect(throws: QuotaParseError.self) { try Quota(parsing: "10/fortnight") }
        do {
            _ = try Quota(parsing: "10/fortnight")
        } catch {
            #expect(error.description == "invalid quota \"10/fortnight\": unknown unit \"fortnight\" (use ns, us, ms, s, min, h or d)")
        }
    }

    @Test func defaultBurstIsTheRate() {
        #expect(Quota(rate: 100, period: .seconds(1)).burst == 100)
        #expect(Quota.perMinute(60).burst == 60)
        #expect(Quota.perSecond(10, burst: 1).burst == 1)
    }

    @Test func validatedMemberwiseInitThrowsInsteadOfTrapping() {
        #expect(throws: QuotaParseError.self) { try Quota.validated(rate: 0, period: .seconds(1)) }
        #expect(throws: QuotaParseError.self) { try Quota.validated(rate: 1, period: .zero) }
        #expect(throws: QuotaParseError.self) { try Quota.validated(rate: 1, period: .seconds(1), burst: 0) }
        #expect(throws: Never.self) { try Quota.validated(rate: 3, period: .seconds(1), burst: 2) }
    }
}
