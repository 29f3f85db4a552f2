import Levee
import Synchronization
import Testing

@Suite struct MultiLimitCheckTests {
    @Test func aDenialBySecondLimitLeavesTheFirstAsItWas() {
        let clock = ManualClock(start: 7_000_000_000)
        let perClient = KeyedRateLimiter(capacity: 256, clock: clock)
        let route = RateLimiter(quota: Quota(rate: 1, period: .seconds(1), burst: 1), clock: clock)
        let clientQuota = Quota(rate: 10, period: .seconds(1), burst: 5)
        let client = LimiterKey(ipv4: 192, 0, 2, 1)
        let checks: [LimitCheck] = [.keyed(perClient, key: client, quota: clientQuota), .single(route)]

        let first = MultiLimitCheck.acquireAll(checks, clock: clock)
        #expect(first.isAllowed)
        #expect(first.index == 1)  // the route has 0 left: the binding limit
        #expect(first.decision.remaining == 0)
        let clientBefore = perClient.peek(client, quota: clientQuota)
        #expect(clientBefore.remaining == 4)

        let second = MultiLimitCheck.acquireAll(checks, clock: clock)
        #expect(!second.isAllowed)
        #expect(second.index == 1)
        #expect(second.decision.retryAfterSeconds == 1)
        #expect(perClient.peek(client, quota: clientQuota) == clientBefore)

        // Also when the first limit had been idle (full) before the check.
        let fresh = LimiterKey(ipv4: 192, 0, 2, 2)
        let idleBefore = perClient.peek(fresh, quota: clientQuota)
        let third = MultiLimitCheck.acquireAll([.keyed(perClient, key: fresh, quota: clientQuota), .single(route)], clock: clock)
        #expect(!third.isAllowed)
        #expect(perClient.peek(fresh, quota: clientQuota) == idleBefore)
    }

    @Test func refundsEveryEarlierLimitOfMany() {
        let clock = ManualClock(start: 1_000)
        let table = KeyedRateLimiter(capacity: 64, clock: clock)
        let global = GCRACell()
        let quota = Quota(rate: 100, period: .seconds(1), burst: 10)
        let tight = Quota(rate: 1, period: .seconds(1), burst: 2)
        let keys = (0..<4).map { LimiterKey(UInt64($0)) }
        var checks = keys.map { LimitCheck.keyed(table, key: $0, quota: quota, cost: 3) }
        checks.append(LimitCheck(.cell(global), quota: tight, cost: 2))
        #expect(MultiLimitCheck.acquireAll(checks, at: clock.now()).isAllowed)
        let states = keys.map { table.peek($0, quota: quota) }
        let globalState = global.peek(quota: tight, at: clock.now())
        let denied = MultiLimitCheck.acquireAll(checks, at: clock.now())
        #expect(!denied.isAllowed && denied.index == 4)
        #expect(keys.map { table.peek($0, quota: quota) } == states)
        #expect(global.peek(quota: tight, at: clock.now()) == globalState)
    }

    @Test func refundsUnderConcurrencyNeverCreateTokens() {
        // Threads race the same two limits; the total admitted by the first must equal the
        // total admitted overall (every taken-and-refunded token came back, none appeared).
        let clock = ManualClock(start: 1_000)
        let table = KeyedRateLimiter(capacity: 64, clock: clock)
        let quota = Quota(rate: 1, period: .seconds(1), burst: 50)
        let second = RateLimiter(quota: Quota(rate: 1, period: .seconds(1), burst: 30), clock: clock)
        let key = LimiterKey("shared")
        let admitted = Mutex(0)
        runOnThreads(4) { _ in
            var mine = 0
            for _ in 0..<200 {
                let result = MultiLimitCheck.acquireAll(
                    [.keyed(table, key: key, quota: quota), .single(second)], clock: clock)
                if result.isAllowed { mine += 1 }
            }
            admitted.withLock { $0 += mine }
        }
        #expect(admitted.withLock { $0 } == 30)
        #expect(table.peek(key, quota: quota).remaining == 20)
    }
}
