import LeveeTestSupport
import Levee
import Testing

@testable import LeveeProxy

/// Drives the gradient limit window by window with a manual clock (nanoseconds).
private struct LimitDriver {
    var limit: AdaptiveConcurrencyLimit
    let clock = ManualClock(start: 1_000_000_000)

    init(_ settings: AdaptiveConcurrencyLimit.Settings) {
        limit = AdaptiveConcurrencyLimit(settings: settings)
    }

    /// One full window of samples at `rttMilliseconds`, with the limit's worth in flight (or `inFlight`).
    mutating func window(rttMilliseconds: Double, inFlight: Int? = nil, dropped: Bool = false) -> Int {
        let samples = limit.settings.minWindowSamples
        let step = limit.settings.windowNanoseconds / UInt64(samples)
        for _ in 0..<samples {
            clock.advance(by: .nanoseconds(Int64(step)))
            limit.sample(
                rtt: UInt64(rttMilliseconds * 1e6), inFlight: inFlight ?? limit.limit, dropped: dropped, at: clock.now())
        }
        return limit.limit
    }

    mutating func windows(_ count: Int, rttMilliseconds: Double, inFlight: Int? = nil, dropped: Bool = false) -> [Int] {
        (0..<count).map { _ in window(rttMilliseconds: rttMilliseconds, inFlight: inFlight, dropped: dropped) }
    }
}

@Suite struct AdaptiveConcurrencyLimitTests {
    private let settings = AdaptiveConcurrencyLimit.Settings(minLimit: 4, maxLimit: 500, initialLimit: 50)

    @Test func limitFallsWhenRTTRisesUnderLoadAndRecoversWhenItFalls() {
        var driver = LimitDriver(settings)
        // A steady upstream under load: the limit probes upward.
        let steady = driver.windows(30, rttMilliseconds: 10)
        let before = steady.last!
        #expect(before > 50)
        #expect(steady == steady.sorted())

        // The upstream slows down five-fold: the short-term RTT is far over the baseline.
        let slow = driver.windows(8, rttMilliseconds: 50)
        #expect(slow == slow.sorted(by: >))
        #expect(slow.last! < before * 3 / 4)
        let bottom = slow.last!

        // Back to normal: the limit grows again past where it fell to.
        let recovered = driver.windows(60, rttMilliseconds: 10)
        #expect(recovered == recovered.sorted())
        #expect(recovered.last! > bottom * 3 / 2)
        #expect(driver.limit.longRTT < 20e6)
    }

    @Test func dropsHalveTowardTheMinimumAndTheLimitStaysWithinBounds() {
        var driver = LimitDriver(settings)
        let dropped = driver.windows(200, rttMilliseconds: 10, dropped: true)
        #expect(dropped == dropped.sorted(by: >))
        #expect(dropped.last! == settings.minLimit)
        let grown = driver.windows(400, rttMilliseconds: 10)
        #expect(grown.last! == settings.maxLimit)
    }

    @Test func randomSamplesNeverLeaveTheBounds() {
        var driver = LimitDriver(settings)
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<2000 {
            let rtt = Double(generator.next() % 200) + 1
            let dropped = generator.next() % 10 == 0
            let inFlight = Int(generator.next() % 600)
            let limit = driver.window(rttMilliseconds: rtt, inFlight: inFlight, dropped: dropped)
            #expect(limit >= settings.minLimit && limit <= settings.maxLimit)
        }
    }

    @Test func lightLoadLeavesTheLimitAlone() {
        var driver = LimitDriver(settings)
        // Fewer than half the limit in flight: the limit is not what holds requests back.
        let light = driver.windows(20, rttMilliseconds: 10, inFlight: 5)
        #expect(Set(light) == [50])
        let slow = driver.windows(20, rttMilliseconds: 100, inFlight: 5)
        #expect(Set(slow) == [50])
    }

    @Test func theLimitChangesOnlyAtTheEndOfAWindow() {
        var limit = AdaptiveConcurrencyLimit(settings: settings)
        let clock = ManualClock(start: 0)
        // Many samples within one window (less than 100 ms): no update yet.
        for _ in 0..<100 {
            clock.advance(by: .microseconds(500))
            limit.sample(rtt: 1_000_000, inFlight: 50, dropped: true, at: clock.now())
        }
        #expect(limit.limit == 50)
        clock.advance(by: .milliseconds(100))
        limit.sample(rtt: 1_000_000, inFlight: 50, dropped: true, at: clock.now())
        #expect(limit.limit < 50)
    }

    @Test func aFixedLimitIgnoresSamples() {
        var driver = LimitDriver(AdaptiveConcurrencyLimit.Settings(minLimit: 2, maxLimit: 8, initialLimit: 4, adaptive: false))
        #expect(driver.limit.limit == 8)
        #expect(Set(driver.windows(10, rttMilliseconds: 500, dropped: true)) == [8])
    }
}
