import Synchronization
import Testing

@testable import Levee

/// `MonotonicClock` reads the CPU counter where the kernel keeps time with it: its readings
/// must stay on `CLOCK_MONOTONIC`'s scale and never step back across threads.
@Suite struct MonotonicClockTests {
    @Test func conversionIsTheCalibratedLine() {
        // Half a nanosecond per tick, anchored at tick 1,000 = 5 s.
        let calibration = CycleCalibration(enabled: true, anchorCycles: 1_000, anchorNanoseconds: 5_000_000_000,
                                           nanosecondsPerCycleQ32: 1 << 31)
        #expect(calibration.nanoseconds(atCycles: 1_000) == 5_000_000_000)
        #expect(calibration.nanoseconds(atCycles: 3_000) == 5_000_001_000)
        // A counter a little behind the anchor (another core) reads as the anchor, not a wrap.
        #expect(calibration.nanoseconds(atCycles: 999) == 5_000_000_000)
        // Ten years of a 4 GHz counter: no overflow in the 96-bit product.
        let tenYears: UInt64 = 4_000_000_000 * 86_400 * 3_650
        #expect(calibration.nanoseconds(atCycles: 1_000 + tenYears) == 5_000_000_000 + tenYears / 2)
    }

    @Test func readingsAgreeWithClockGettime() {
        let clock = MonotonicClock()
        _ = clock.now()  // calibrate first: it takes a few milliseconds
        for _ in 0..<1_000 {
            let before = MonotonicClock.systemNanoseconds()
            let reading = clock.now()
            let after = MonotonicClock.systemNanoseconds()
            // The calibration may be off by parts in 10⁴ at worst; within a test run that is
            // well under 20 ms. A wrong factor or anchor would be off by seconds.
            #expect(reading + 20_000_000 >= before && reading <= after + 20_000_000,
                    "counter \(reading) vs clock_gettime \(before)…\(after) (reads counter: \(MonotonicClock.readsCPUCounter))")
        }
    }

    @Test func elapsedTimeMatchesClockGettime() async throws {
        let clock = MonotonicClock()
        _ = clock.now()  // calibrate first: it takes 10 ms
        // Each counter reading is bracketed by two clock_gettime readings, so that a thread
        // preempted between reads widens the allowed range instead of failing the test.
        func bracketed() -> (before: UInt64, counter: UInt64, after: UInt64) {
            let before = MonotonicClock.systemNanoseconds()
            let counter = clock.now()
            return (before, counter, MonotonicClock.systemNanoseconds())
        }
        let start = bracketed()
        try await Task.sleep(for: .milliseconds(50))
        let end = bracketed()
        let counted = Double(end.counter - start.counter)
        let shortest = Double(end.before - start.after), longest = Double(end.after - start.before)
        // The same interval on both clocks to within 1% (the calibration is far better than that).
        #expect(counted >= shortest * 0.99 - 20_000 && counted <= longest * 1.01 + 20_000,
                "counter \(counted) ns, clock_gettime between \(shortest) and \(longest) ns")
    }

    @Test func threadsNeverSeeItStepBack() {
        let clock = MonotonicClock()
        _ = clock.now()
        let shared = Atomic<UInt64>(0)
        let worstStepBack = Atomic<UInt64>(0)
        // Each thread publishes its readings and compares with the latest one any thread has
        // published: a counter out of step between cores would show as a reading below it.
        runOnThreads(4) { _ in
            for _ in 0..<200_000 {
                let seen = shared.load(ordering: .acquiring)
                let now = clock.now()
                if now < seen {
                    var worst = worstStepBack.load(ordering: .relaxed)
                    while seen - now > worst {
                        let (exchanged, original) = worstStepBack.compareExchange(
                            expected: worst, desired: seen - now, ordering: .relaxed)
                        if exchanged { break }
                        worst = original
                    }
                }
                _ = shared.max(now, ordering: .releasing)
            }
        }
        // A few nanoseconds of unfenced-read skew are harmless to a limiter (an earlier "now"
        // never creates tokens); a microsecond would mean unsynchronised counters.
        #expect(worstStepBack.load(ordering: .relaxed) < 1_000)
    }
}
