import Levee
import Synchronization
import Testing

/// Exactness of the GCRA step over seeded random schedules, for a bare cell and for a key in a
/// keyed table (both must behave identically).
@Suite struct GCRAExactnessTests {
    /// Something that decides for one bucket at a given time.
    enum Subject: String, CaseIterable, Sendable {
        case cell, keyed
    }

    final class Bucket {
        let decide: (Int, UInt64) -> RateLimitDecision
        init(_ subject: Subject, quota: Quota) {
            switch subject {
            case .cell:
                let cell = GCRACell()
                decide = { cell.acquire(quota: quota, cost: $0, at: $1) }
            case .keyed:
                let table = KeyedRateLimiter(capacity: 64, clock: ManualClock())
                let key = LimiterKey("the client")
                decide = { table.acquire(key, quota: quota, cost: $0, at: $1) }
            }
        }
    }

    static func randomQuota(_ random: inout SeededGenerator) -> Quota {
        let rate = Int.random(in: 1...50, using: &random)
        let periodMilliseconds = Int64.random(in: 1...5_000, using: &random)
        let burst = Int.random(in: 1...20, using: &random)
        return Quota(rate: rate, period: .milliseconds(periodMilliseconds), burst: burst)
    }

    @Test(arguments: Subject.allCases)
    func admittedNeverExceedsTheBoundAndRetryAfterIsExact(_ subject: Subject) {
        for seed in UInt64(1)...300 {
            var random = SeededGenerator(seed: seed)
            let quota = Self.randomQuota(&random)
            let bucket = Bucket(subject, quota: quota)
            let period = UInt64(quota.period.components.seconds) * 1_000_000_000
                + UInt64(quota.period.components.attoseconds / 1_000_000_000)
            let interval = quota.emissionIntervalNanoseconds
            let start = UInt64.random(in: 0...1_000_000_000_000, using: &random)
            var now = start
            var admitted: UInt64 = 0
            for _ in 0..<400 {
                // Mostly short steps (contention for tokens), sometimes long idle gaps.
                let step = random.next() % 8 == 0
                    ? UInt64.random(in: 0...(interval * UInt64(quota.burst) * 2), using: &random)
                    : UInt64.random(in: 0...(interval / 2 + 1), using: &random)
                now += step
                let cost = Int.random(in: 1...(quota.burst + 1), using: &random)
                let decision = bucket.decide(cost, now)
                #expect(decision.limit == quota.burst)
                if decision.isAllowed {
                    admitted += UInt64(cost)
                    #expect(decision.retryAfterNanoseconds == 0)
                    #expect(decision.remaining >= 0 && decision.remaining <= quota.burst - cost)
                } else if cost > quota.burst {
                    #expect(!decision.canSucceedLater)
                } else {
                    // Retrying exactly after retry-after succeeds (nobody else uses the key).
                    #expect(decision.retryAfterNanoseconds > 0)
                    now += decision.retryAfterNanoseconds
                    let retry = bucket.decide(cost, now)
                    #expect(retry.isAllowed, "seed \(seed): retry after \(decision) was denied: \(retry)")
                    if retry.isAllowed { admitted += UInt64(cost) }
                }
                // At every prefix: admitted ≤ burst + rate × elapsed / period (exact integers).
                let elapsed = now - start
                let earned = elapsed.multipliedFullWidth(by: UInt64(quota.rate))
                let limit = UInt64(quota.burst) + (earned.high == 0 ? earned.low / period : .max)
                #expect(admitted <= limit, "seed \(seed) \(quota): admitted \(admitted) > \(limit)")
                // And the exact GCRA bound with the rounded-up emission interval.
                #expect(admitted <= UInt64(quota.burst) + elapsed / interval)
            }
        }
    }

    @Test(arguments: Subject.allCases)
    func aClientBelowTheRateIsNeverDenied(_ subject: Subject) {
        for seed in UInt64(1)...200 {
            var random = SeededGenerator(seed: seed)
            let quota = Self.randomQuota(&random)
            let bucket = Bucket(subject, quota: quota)
            let interval = quota.emissionIntervalNanoseconds
            var now = UInt64.random(in: 0...1_000_000_000, using: &random)
            // Start with a burst (an idle key is full), then pace at or below the rate.
            for _ in 0..<quota.burst {
                #expect(bucket.decide(1, now).isAllowed, "seed \(seed): burst denied")
            }
            for _ in 0..<300 {
                now += interval + UInt64.random(in: 0...interval, using: &random)
                let decision = bucket.decide(1, now)
                #expect(decision.isAllowed, "seed \(seed) \(quota): paced request denied: \(decision)")
            }
        }
    }

    @Test func anIdleKeyHasItsFullBurst() {
        let quota = Quota(rate: 10, period: .seconds(1), burst: 4)
        let cell = GCRACell()
        var now: UInt64 = 5_000_000_000
        for expected in [3, 2, 1, 0] {
            let decision = cell.acquire(quota: quota, at: now)
            #expect(decision.isAllowed && decision.remaining == expected)
        }
        let denied = cell.acquire(quota: quota, at: now)
        #expect(!denied.isAllowed)
        #expect(denied.retryAfterNanoseconds == 100_000_000)
        #expect(denied.retryAfterSeconds == 1)
        #expect(denied.resetAfterNanoseconds == 400_000_000)
        // After burst × interval of silence the bucket is full again.
        now += 400_000_000
        #expect(cell.peek(quota: quota, at: now).remaining == 4)
        #expect(cell.peek(quota: quota, at: now).resetAfterNanoseconds == 0)
    }

    @Test func retryAfterSecondsRoundsUp() {
        let quota = Quota(rate: 1, period: .milliseconds(1500), burst: 1)
        let cell = GCRACell()
        #expect(cell.acquire(quota: quota, at: 0).isAllowed)
        let denied = cell.acquire(quota: quota, at: 1)
        #expect(denied.retryAfterNanoseconds == 1_499_999_999)
        #expect(denied.retryAfterSeconds == 2)
        // Waiting the rounded-up whole seconds succeeds.
        #expect(cell.acquire(quota: quota, at: 1 + 2_000_000_000).isAllowed)
    }

    @Test func deniedRequestsWriteNothing() {
        let quota = Quota(rate: 1, period: .seconds(1), burst: 2)
        let cell = GCRACell()
        _ = cell.acquire(quota: quota, cost: 2, at: 1_000)
        let before = cell.peek(quota: quota, at: 1_000)
        for _ in 0..<100 { #expect(!cell.acquire(quota: quota, at: 1_000).isAllowed) }
        #expect(cell.peek(quota: quota, at: 1_000) == before)
    }

    @Test func timeGoingBackwardsNeverCreatesTokens() {
        let clock = ManualClock(start: 10_000_000_000)
        let limiter = RateLimiter(quota: Quota(rate: 10, period: .seconds(1), burst: 5), clock: clock)
        var admitted = 0
        for _ in 0..<5 where limiter.acquire().isAllowed { admitted += 1 }
        #expect(admitted == 5)
        // Jump back a minute: a wall-clock-like step that must not refill the bucket.
        clock.set(nanoseconds: 10_000_000_000 - 60_000_000_000 / 10)
        for _ in 0..<100 where limiter.acquire().isAllowed { admitted += 1 }
        #expect(admitted == 5)
        #expect(clock.regressions == 1)
        // Time comes back to where it was plus one interval: exactly one more token.
        clock.set(nanoseconds: 10_000_000_000 + 100_000_000)
        for _ in 0..<100 where limiter.acquire().isAllowed { admitted += 1 }
        #expect(admitted == 6)
    }

    @Test func costZeroPeeksAndCostAboveBurstNeverSucceeds() {
        let quota = Quota(rate: 1, period: .seconds(1), burst: 3)
        let cell = GCRACell()
        let peek = cell.acquire(quota: quota, cost: 0, at: 0)
        #expect(peek.isAllowed && peek.remaining == 3)
        let tooBig = cell.acquire(quota: quota, cost: 4, at: 0)
        #expect(!tooBig.isAllowed && !tooBig.canSucceedLater && tooBig.retryAfterSeconds == Int.max)
        #expect(cell.peek(quota: quota, at: 0).remaining == 3)
    }
}

@Suite struct GuardedClockTests {
    @Test func aGuardedClockNeverGoesBackAndCountsSteps() {
        let wall = ManualClock(start: 50_000_000_000)
        let clock = GuardedClock(wall)
        let limiter = RateLimiter(quota: Quota(rate: 1, period: .seconds(1), burst: 1), clock: clock)
        #expect(limiter.acquire().isAllowed)
        wall.set(nanoseconds: 40_000_000_000)  // the wall clock steps back 10 s
        #expect(clock.now() == 50_000_000_000)
        #expect(clock.regressions == 1)
        #expect(!limiter.acquire().isAllowed)
        #expect(limiter.peek().retryAfterSeconds == 1)  // not 11: the guard holds time still
        #expect(clock.regressions == 3)  // the acquire and the peek each read the stepped clock
        wall.set(nanoseconds: 51_000_000_000)
        #expect(limiter.acquire().isAllowed)
        wall.set(nanoseconds: 50_999_999_999)  // within the 1 ms tolerance: not counted
        #expect(clock.now() == 51_000_000_000)
        #expect(clock.regressions == 3)
    }

    @Test func concurrentReadersNeverSeeTimeGoBack() {
        let base = MonotonicClock()
        let clock = GuardedClock(base)
        let backwards = Atomic<Int>(0)
        runOnThreads(4) { _ in
            var last: UInt64 = 0
            for _ in 0..<20_000 {
                let now = clock.now()
                if now < last { backwards.wrappingAdd(1, ordering: .relaxed) }
                last = now
            }
        }
        #expect(backwards.load(ordering: .relaxed) == 0)
        #expect(clock.regressions == 0)
    }
}
