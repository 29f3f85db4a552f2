import Levee
import LeveeRESP
import LeveeRedis
import LeveeTestSupport
import NIOPosix
import Testing

@Suite("GCRA in Redis (Lua) against the core", .redisServer)
struct RedisGCRATests {
    static func gcra(port: Int) -> RedisGCRA {
        RedisGCRA(client: RESPClient(
            configuration: RESPClientConfiguration(port: port, connectTimeout: .seconds(5), commandTimeout: .seconds(5)),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: quietLogger))
    }

    /// Quotas whose emission interval is a whole number of microseconds (the script's unit).
    static let quotas: [Quota] = [
        Quota(rate: 10, period: .seconds(1), burst: 5),
        Quota(rate: 1_000, period: .seconds(1), burst: 50),
        Quota(rate: 6_000, period: .seconds(60), burst: 1),
        Quota(rate: 100, period: .seconds(1)),
    ]

    @Test("the Lua step makes the core's decision at every step of random schedules", arguments: 0..<quotas.count)
    func matchesCore(quotaIndex: Int) async throws {
        let server = try RedisServerTrait.server()
        let gcra = Self.gcra(port: server.port)
        defer { _ = gcra.client.close() }
        let quota = Self.quotas[quotaIndex]
        let interval = quota.redisIntervalMicroseconds
        for seed in UInt64(1)...3 {
            var random = SeededGenerator(seed: seed &* 7_919 &+ UInt64(quotaIndex))
            let cell = GCRACell()
            let key = "match:\(quotaIndex):\(seed)"
            var nowMicroseconds: Int64 = 1_000_000
            var allowed = 0
            var denied = 0
            for step in 0..<150 {
                // Mostly faster than the rate (so denials happen), sometimes idle for a while.
                nowMicroseconds += random.next() % 8 == 0
                    ? Int64.random(in: 0...(interval * Int64(quota.burst) * 2), using: &random)
                    : Int64.random(in: 0...interval, using: &random)
                let cost = random.next() % 16 == 0 ? quota.burst + 1 : Int.random(in: 1...min(3, quota.burst), using: &random)
                let expected = cell.acquire(quota: quota, cost: cost, at: UInt64(nowMicroseconds) * 1_000)
                let actual = try await gcra.acquire(key: key, quota: quota, cost: cost, at: nowMicroseconds, expirySlack: .seconds(600)).get()
                #expect(actual == expected, "quota \(quota) seed \(seed) step \(step) t=\(nowMicroseconds)µs cost \(cost)")
                if actual != expected { return }
                if expected.isAllowed { allowed += 1 } else { denied += 1 }
            }
            #expect(allowed > 0 && denied > 0, "the schedule exercised both outcomes")
        }
    }

    @Test("a lease takes what the bucket holds, up to the ask; debt is charged even past empty")
    func lease() async throws {
        let server = try RedisServerTrait.server()
        let gcra = Self.gcra(port: server.port)
        defer { _ = gcra.client.close() }
        let quota = Quota(rate: 10, period: .seconds(1), burst: 20)  // 100 ms per token
        let t0: Int64 = 5_000_000
        var reply = try await gcra.lease(key: "lease:a", quota: quota, upTo: 8, at: t0, expirySlack: .seconds(600)).get()
        #expect(reply.granted == 8 && reply.remaining(quota: quota) == 12)
        reply = try await gcra.lease(key: "lease:a", quota: quota, upTo: 50, at: t0, expirySlack: .seconds(600)).get()
        #expect(reply.granted == 12 && reply.remaining(quota: quota) == 0)
        reply = try await gcra.lease(key: "lease:a", quota: quota, upTo: 5, at: t0 + 250_000, expirySlack: .seconds(600)).get()
        #expect(reply.granted == 2, "2.5 intervals later: 2 whole tokens")
        #expect(reply.retryAfterNanoseconds(cost: 1, quota: quota) == 50_000_000)
        // 3 tokens of debt on an empty bucket: nothing granted, and the wait grows by 3 intervals.
        reply = try await gcra.lease(key: "lease:a", quota: quota, upTo: 5, debt: 3, at: t0 + 250_000, expirySlack: .seconds(600)).get()
        #expect(reply.granted == 0)
        #expect(reply.retryAfterNanoseconds(cost: 1, quota: quota) == 350_000_000)
        #expect(reply.nowMicroseconds == t0 + 250_000)
    }

    @Test("keys expire when their bucket is full again; Redis's own clock is used by default")
    func expiryAndServerTime() async throws {
        let server = try RedisServerTrait.server()
        let gcra = Self.gcra(port: server.port)
        defer { _ = gcra.client.close() }
        let quota = Quota(rate: 1, period: .seconds(60), burst: 20)  // a token a minute
        let key = gcra.redisKey(rule: "expiry", key: "203.0.113.7")
        #expect(key == "levee:expiry:203.0.113.7")
        let reply = try await gcra.lease(key: key, quota: quota, upTo: 5).get()
        #expect(reply.granted == 5)
        let time = try await gcra.client.send(["TIME"]).array ?? []
        let serverNow = (time.first?.int64 ?? 0) * 1_000_000 + (time.last?.int64 ?? 0)
        #expect(abs(serverNow - reply.nowMicroseconds) < 5_000_000, "the script read Redis's TIME")
        let ttl = try await gcra.client.send(["PTTL", key]).int64 ?? -2
        #expect(ttl > 290_000 && ttl <= 300_001, "expires when the 5 tokens are earned back (5 min): \(ttl)")
        // A denied all-or-nothing request writes nothing: a missing key stays missing.
        let denied = try await gcra.acquire(key: "expiry:none", quota: quota, cost: 21).get()
        #expect(!denied.isAllowed && denied.retryAfterNanoseconds == RateLimitDecision.never)
        #expect(try await gcra.client.send(["EXISTS", "expiry:none"]) == .integer(0))
    }
}
