import Levee
import Testing

/// Setting and adding tokens from outside (fleet-wide leases).
@Suite struct TokenTransferTests {
    let quota = Quota(rate: 10, period: .seconds(1), burst: 10)

    @Test func setTokensSetsExactlyThatMany() {
        let clock = ManualClock(start: 1_000_000_000)
        let table = KeyedRateLimiter(capacity: 16, clock: clock)
        let key = LimiterKey("tenant-a")
        table.setTokens(3, for: key, quota: quota)
        #expect(table.peek(key, quota: quota).remaining == 3)
        var admitted = 0
        for _ in 0..<10 where table.acquire(key, quota: quota).isAllowed { admitted += 1 }
        #expect(admitted == 3)
        table.setTokens(99, for: key, quota: quota)  // clamped to the burst
        #expect(table.peek(key, quota: quota).remaining == 10)
        table.setTokens(-5, for: key, quota: quota)  // clamped to empty
        #expect(table.peek(key, quota: quota).remaining == 0)
    }

    @Test func addTokensIsCappedAtFullAndFlooredAtEmpty() {
        let clock = ManualClock(start: 1_000_000_000)
        let table = KeyedRateLimiter(capacity: 16, clock: clock)
        let key = LimiterKey(42)
        table.addTokens(-4, to: key, quota: quota)  // spent elsewhere
        #expect(table.peek(key, quota: quota).remaining == 6)
        table.addTokens(-100, to: key, quota: quota)
        #expect(table.peek(key, quota: quota).remaining == 0)
        table.addTokens(2, to: key, quota: quota)
        #expect(table.peek(key, quota: quota).remaining == 2)
        table.refund(key, quota: quota, tokens: 100)
        #expect(table.peek(key, quota: quota).remaining == 10)
        // A refund to a key not in the table is a no-op (it is already full).
        table.refund(LimiterKey(43), quota: quota, tokens: 1)
        #expect(table.statistics.trackedKeys == 1)
    }

    @Test func singleLimiterTransfersToo() {
        let clock = ManualClock(start: 1_000_000_000)
        let limiter = RateLimiter(quota: quota, clock: clock)
        limiter.setTokens(1)
        #expect(limiter.acquire().isAllowed)
        #expect(!limiter.acquire().isAllowed)
        limiter.addTokens(2)
        #expect(limiter.peek().remaining == 2)
    }

    @Test func differentQuotasShareOneTable() {
        let clock = ManualClock(start: 1_000_000_000)
        let table = KeyedRateLimiter(capacity: 16, clock: clock)
        let free = Quota(rate: 1, period: .seconds(1), burst: 2)
        let paid = Quota(rate: 100, period: .seconds(1), burst: 50)
        var freeAdmitted = 0, paidAdmitted = 0
        for _ in 0..<100 {
            if table.acquire(LimiterKey("free-user"), quota: free).isAllowed { freeAdmitted += 1 }
            if table.acquire(LimiterKey("paid-user"), quota: paid).isAllowed { paidAdmitted += 1 }
        }
        #expect(freeAdmitted == 2)
        #expect(paidAdmitted == 50)
    }
}
