import Levee
import Testing

/// A table of capacity N fed 100 × N distinct keys keeps its memory, and a hot key over its
/// limit stays limited exactly throughout (it is never handed a fresh bucket by the churn).
@Suite struct EvictionTests {
    static let capacity = 1024

    /// Feeds `junkPerStep` new keys per millisecond alongside a hot key that tries every
    /// millisecond; returns the table for its statistics.
    func churn(junkPerStep: Int) -> KeyedRateLimiter {
        let clock = ManualClock(start: 1_000_000_000)
        let table = KeyedRateLimiter(capacity: Self.capacity, clock: clock)
        let quota = Quota(rate: 10, period: .seconds(1), burst: 5)  // 100 ms per token
        let hot = LimiterKey(ipv4: 203, 0, 113, 66)
        let memory = table.memoryBytes
        #expect(memory <= 16 * Self.capacity + 64 * table.shardCount)
        var junk: UInt32 = 0
        var hotAdmitted = 0
        var elapsed: UInt64 = 0
        let total = 100 * Self.capacity
        while junk < total {
            // The abuser takes every token the moment it exists.
            for _ in 0..<10 where table.acquire(hot, quota: quota).isAllowed { hotAdmitted += 1 }
            // Exactly burst + one per 100 ms: never more (no fresh bucket), never less (no loss).
            #expect(hotAdmitted == 5 + Int(elapsed / 100_000_000), "after \(junk) junk keys")
            for _ in 0..<junkPerStep where junk < total {
                junk += 1
                #expect(table.acquire(LimiterKey(ipv4: 0x0A00_0000 | junk), quota: quota).isAllowed)
            }
            clock.advance(by: .milliseconds(1))
            elapsed += 1_000_000
        }
        #expect(table.memoryBytes == memory)
        #expect(table.statistics.trackedKeys <= Self.capacity)
        return table
    }

    @Test func lowChurnOnlyReusesFullSlots() {
        // 2 new keys per ms, each full again after 100 ms: ~200 live keys in 1024 slots.
        let statistics = churn(junkPerStep: 2).statistics
        #expect(statistics.insertions >= 100 * Self.capacity)
        #expect(statistics.reusedSlots > 90 * Self.capacity)
        #expect(statistics.forcedEvictions == 0)
    }

    @Test func highChurnForcesEvictionsButNotOfTheHotKey() {
        // 40 new keys per ms: ~4000 live keys for 1024 slots, so evictions must be forced.
        let statistics = churn(junkPerStep: 40).statistics
        #expect(statistics.forcedEvictions > 0)
        #expect(statistics.trackedKeys == Self.capacity)
    }

    @Test func forcedEvictionPicksTheEntryNearestToFull() {
        // One slot, so every insertion competes for it.
        let clock = ManualClock(start: 1_000_000_000)
        let table = KeyedRateLimiter(capacity: 1, clock: clock)
        let quota = Quota(rate: 1, period: .seconds(1), burst: 3)
        let abuser = LimiterKey("abuser")
        for _ in 0..<3 { #expect(table.acquire(abuser, quota: quota).isAllowed) }
        #expect(!table.acquire(abuser, quota: quota).isAllowed)
        // A newcomer must evict the abuser (the only entry) — counted as forced.
        #expect(table.acquire(LimiterKey("newcomer"), quota: quota).isAllowed)
        #expect(table.statistics.forcedEvictions == 1)
        // Once the newcomer's bucket is full again, the next key reuses it without force.
        clock.advance(by: .seconds(1))
        #expect(table.acquire(LimiterKey("third"), quota: quota).isAllowed)
        #expect(table.statistics.forcedEvictions == 1)
        #expect(table.statistics.reusedSlots == 1)
    }
}
