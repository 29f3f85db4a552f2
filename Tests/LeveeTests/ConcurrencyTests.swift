import Levee
import Synchronization
import Testing

/// Several OS threads on one key and on many keys: the totals admitted must equal exactly what
/// the bound allows (time moves only between phases, so each phase admits an exact number).
@Suite struct ConcurrencyTests {
    static let threads = 4

    @Test func oneKeyAdmitsExactlyTheBound() {
        let clock = ManualClock(start: 1_000_000_000)
        let quota = Quota(rate: 1_000, period: .seconds(1), burst: 200)
        let table = KeyedRateLimiter(capacity: 1024, clock: clock)
        let cell = GCRACell()
        let key = LimiterKey(ipv4: 10, 0, 0, 1)
        var expected = 0
        var admittedByTable = 0
        var admittedByCell = 0
        for phase in 0..<20 {
            // Phase 0 drains the full burst; each later phase earns exactly `step / interval` tokens.
            if phase > 0 { clock.advance(by: .milliseconds(37)) }
            expected += phase == 0 ? 200 : 37
            let tableCount = Atomic<Int>(0)
            let cellCount = Atomic<Int>(0)
            runOnThreads(Self.threads) { _ in
                for _ in 0..<600 {
                    if table.acquire(key, quota: quota).isAllowed { tableCount.wrappingAdd(1, ordering: .relaxed) }
                    if cell.acquire(quota: quota, at: clock.now()).isAllowed { cellCount.wrappingAdd(1, ordering: .relaxed) }
                }
            }
            admittedByTable += tableCount.load(ordering: .relaxed)
            admittedByCell += cellCount.load(ordering: .relaxed)
            #expect(admittedByTable == expected, "phase \(phase)")
            #expect(admittedByCell == expected, "phase \(phase)")
        }
    }

    @Test func manyKeysAdmitExactlyTheBoundEach() {
        let clock = ManualClock(start: 5_000_000_000)
        let quota = Quota(rate: 10, period: .seconds(1), burst: 7)
        let keyCount = 2_000
        let table = KeyedRateLimiter(capacity: 1 << 14, shards: 8, clock: clock)
        let counts = Mutex([Int](repeating: 0, count: keyCount))
        for phase in 0..<3 {
            if phase > 0 { clock.advance(by: .milliseconds(300)) }  // 3 more tokens each
            runOnThreads(Self.threads) { thread in
                var local = [Int](repeating: 0, count: keyCount)
                defer { counts.withLock { for index in 0..<keyCount { $0[index] += local[index] } } }
                var random = SeededGenerator(seed: UInt64(thread * 1000 + phase))
                for _ in 0..<(keyCount * 12 / Self.threads) {
                    let index = Int.random(in: 0..<keyCount, using: &random)
                    if table.acquire(LimiterKey(UInt64(index)), quota: quota).isAllowed {
                        local[index] += 1
                    }
                }
                // Then every key until each is surely drained.
                for index in 0..<keyCount {
                    for _ in 0..<8 where table.acquire(LimiterKey(UInt64(index)), quota: quota).isAllowed {
                        local[index] += 1
                    }
                }
            }
            let expectedPerKey = 7 + 3 * phase
            let totals = counts.withLock { $0 }
            let wrong = totals.filter { $0 != expectedPerKey }
            #expect(wrong.isEmpty, "phase \(phase): \(wrong.count) keys off, e.g. \(wrong.prefix(3))")
        }
        let statistics = table.statistics
        #expect(statistics.forcedEvictions == 0)
        #expect(statistics.trackedKeys == keyCount)
        #expect(statistics.insertions == keyCount)
    }

    @Test func insertionsRacingOnTheSameNewKeysCreateOneEntryEach() {
        let clock = ManualClock(start: 1)
        let quota = Quota(rate: 1, period: .seconds(1), burst: 3)
        let table = KeyedRateLimiter(capacity: 4096, shards: 2, clock: clock)
        let admitted = Atomic<Int>(0)
        runOnThreads(Self.threads) { _ in
            for index in 0..<1_000 {
                for _ in 0..<2 where table.acquire(LimiterKey("user-\(index)"), quota: quota).isAllowed {
                    admitted.wrappingAdd(1, ordering: .relaxed)
                }
            }
        }
        // 4 threads × 2 tries = 8 attempts per key, exactly 3 admitted each.
        #expect(admitted.load(ordering: .relaxed) == 3_000)
        #expect(table.statistics.trackedKeys == 1_000)
    }

    @Test func stripedCounterLosesNoUpdates() {
        let counter = StripedCounter(stripes: 4)
        runOnThreads(Self.threads) { thread in
            for _ in 0..<100_000 { counter.add(1) }
            for _ in 0..<50_000 { counter.add(2, stripe: thread) }
        }
        #expect(counter.value == Self.threads * 200_000)
    }
}

