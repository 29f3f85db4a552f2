import Levee
import LeveeRedis
import LeveeTestSupport
import Testing

@testable import LeveeProxy

/// The flood filter with global rules against a real `redis-server` on loopback: the decision
/// path, the all-or-nothing refunds between local and global rules, reloads, and the fleet key.
@Suite("Flood filter: global rules through Redis")
struct FleetFilterTests {
    /// Settings for a test Redis, with timeouts that survive a loaded machine.
    static func settings(port: Int, prefix: String = "levee-test:") -> FleetSettings {
        FleetSettings(port: port, keyPrefix: prefix, connectTimeout: .seconds(5), commandTimeout: .seconds(10))
    }

    static func filter(_ rules: [FilterRule], port: Int, prefix: String = "levee-test:") -> FloodFilter {
        FloodFilter(configuration: FilterConfiguration(rules: rules, bans: BanSettings(enabled: false),
                                                       fleet: settings(port: port, prefix: prefix)))
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(within timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    @Test("a global rule admits its burst (credit, then a lease), then answers 429 with Retry-After")
    func admitsTheBurstThenRefuses() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let rule = FilterRule(name: "g", quota: try Quota(parsing: "1/min burst 5"), headers: .always,
                              scope: .global(GlobalRuleOptions(leaseSize: 5, initialCredit: 1)))
        let filter = Self.filter([rule], port: server.port)
        defer { Task { await filter.fleet?.close() } }

        // The first request is admitted on credit and starts the first lease (which carries the credit as debt).
        #expect(filter.evaluate(filterRequest("/a")).isForward)
        let leased = try await Self.eventually { (filter.statistics().rule("g")?.fleet?.leaseSuccesses ?? 0) >= 1 }
        try #require(leased, "the first lease never arrived")
        #expect(filter.statistics().rule("g")?.fleet?.tokensLeased == 4)  // 5 in the bucket, 1 owed

        for _ in 0..<4 { #expect(filter.evaluate(filterRequest("/a")).isForward) }
        let refused = filter.evaluate(filterRequest("/a"))
        #expect(refused.status == 429)
        let retryAfter = refused.response?.headers.first(name: "retry-after").flatMap(Int.init)
        #expect((retryAfter ?? 0) >= 1)
        #expect(refused.response?.headers.first(name: "ratelimit-policy")?.contains("\"g\"") == true)

        // Another client has its own shared bucket.
        #expect(filter.evaluate(filterRequest("/a", peer: "198.51.100.2")).isForward)
        let stats = try #require(filter.statistics().rule("g"))
        #expect(stats[.allowed] == 6 && stats[.limited] == 1)
        #expect(stats.fleet?.redisAvailable == true)
        // The bucket is in Redis under the rule and the client's address.
        let tat = try await filter.fleet!.client.send(["EXISTS", "levee-test:g:198.51.100.1"])
        #expect(tat == .integer(1))
    }

    @Test("a global denial gives back the local rules' tokens; a local denial never touches the global rule")
    func refundsBetweenLocalAndGlobal() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let global = FilterRule(name: "g", match: RuleMatch(pathPrefix: "/g/"), quota: try Quota(parsing: "1/min burst 3"),
                                scope: .global(GlobalRuleOptions(leaseSize: 3, initialCredit: 0)))
        let local = FilterRule(name: "l", quota: try Quota(parsing: "1/min burst 10"))
        let filter = Self.filter([global, local], port: server.port)
        defer { Task { await filter.fleet?.close() } }

        // No credit: the first request is refused by the global rule (and starts a lease); the
        // local token it took is given back.
        #expect(filter.evaluate(filterRequest("/g/1")).status == 429)
        try #require(try await Self.eventually { (filter.statistics().rule("g")?.fleet?.leaseSuccesses ?? 0) >= 1 })
        for _ in 0..<3 { #expect(filter.evaluate(filterRequest("/g/1")).isForward) }
        #expect(filter.evaluate(filterRequest("/g/1")).status == 429)
        // Two global denials cost the local rule nothing: 10 − 3 tokens are left.
        for _ in 0..<7 { #expect(filter.evaluate(filterRequest("/other")).isForward) }
        #expect(filter.evaluate(filterRequest("/other")).status == 429)

        // Now the local rule denies first: the global rule is not consulted.
        let before = try #require(filter.statistics().rule("g")?.fleet)
        #expect(filter.evaluate(filterRequest("/g/1")).status == 429)
        let after = try #require(filter.statistics().rule("g")?.fleet)
        #expect(after.admitted == before.admitted && after.denied == before.denied)
        #expect(filter.statistics().rule("l")?[.limited] == 2)
    }

    @Test("a reload with the same [fleet] keeps the connection and the leases of unchanged rules")
    func reloadKeepsLeases() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let rule = FilterRule(name: "g", quota: try Quota(parsing: "1/min burst 10"),
                              scope: .global(GlobalRuleOptions(leaseSize: 10, initialCredit: 1)))
        let configuration = FilterConfiguration(rules: [rule], bans: BanSettings(enabled: false), fleet: Self.settings(port: server.port))
        let first = FloodFilter(reloading: configuration, previous: nil)
        #expect(first.evaluate(filterRequest("/")).isForward)
        try #require(try await Self.eventually { (first.statistics().rule("g")?.fleet?.leaseSuccesses ?? 0) >= 1 })

        let second = FloodFilter(reloading: configuration, previous: first)
        #expect(second.fleet === first.fleet)
        // The leased tokens are still here: no new lease is needed for the next requests.
        #expect(second.evaluate(filterRequest("/")).isForward)
        #expect(second.statistics().rule("g")?.fleet?.leaseRequests == first.statistics().rule("g")?.fleet?.leaseRequests)
        #expect(second.statistics().rule("g")?.fleet?.admitted == 2)

        // A changed limit is a new rule: its leases start again (on the same connection).
        var changed = configuration
        changed.rules[0].quota = try Quota(parsing: "1/min burst 20")
        let third = FloodFilter(reloading: changed, previous: second)
        #expect(third.fleet === first.fleet)
        #expect(third.statistics().rule("g")?.fleet?.admitted == 0)

        // A changed [fleet] is a new connection.
        var moved = changed
        moved.fleet?.keyPrefix = "other:"
        let fourth = FloodFilter(reloading: moved, previous: third)
        #expect(fourth.fleet !== first.fleet)
        await fourth.fleet?.close()
        await first.fleet?.close()
    }
}

/// The text that names a client's shared bucket must be the same on every instance and must not
/// let one client name another's bucket.
@Suite("Fleet keys of global rules")
struct RuleKeyStableTextTests {
    @Test func addressesAndNetworks() {
        #expect(RuleKey.ip.stableText(for: RequestFacts(request: filterRequest(peer: "203.0.113.7"), address: ClientAddress("203.0.113.7"))) == "203.0.113.7")
        #expect(RuleKey([.subnet]).stableText(for: RequestFacts(request: filterRequest(), address: ClientAddress("203.0.113.7"))) == "203.0.113.0/24")
        #expect(RuleKey([.subnet]).stableText(for: RequestFacts(request: filterRequest(), address: ClientAddress("2001:db8:1:2:3::9"))) == "2001:db8:1:2::/64")
        #expect(RuleKey([.global]).stableText(for: RequestFacts(request: filterRequest(), address: nil)) == "global")
    }

    @Test("combinations name their parts and escape separators, so crafted values cannot collide")
    func combinations() {
        let key = RuleKey([.ip, .path])
        let facts = RequestFacts(request: filterRequest("/api/items?x=1"), address: ClientAddress("203.0.113.7"))
        #expect(key.stableText(for: facts) == "ip=203.0.113.7|path=/api/items")

        let two = RuleKey([.header("a"), .header("b")])
        let honest = RequestFacts(request: filterRequest(headers: [("a", "x"), ("b", "y")]), address: nil)
        let crafted = RequestFacts(request: filterRequest(headers: [("a", "x|header:b=y"), ("b", "")]), address: nil)
        #expect(two.stableText(for: honest) == "header:a=x|header:b=y")
        #expect(two.stableText(for: crafted) == "header:a=x%7Cheader:b%3Dy|header:b=")
        #expect(two.stableText(for: honest) != two.stableText(for: crafted))
        let spaced = RequestFacts(request: filterRequest(headers: [("a", "100% sure")]), address: nil)
        #expect(RuleKey([.header("a"), .method]).stableText(for: spaced) == "header:a=100%25%20sure|method=GET")
    }

    @Test("long keys are hashed, the same way every time")
    func longKeys() {
        let value = String(repeating: "v", count: 500)
        let facts = RequestFacts(request: filterRequest(headers: [("x-api-key", value)]), address: nil)
        let key = RuleKey([.header("x-api-key"), .method])
        let text = key.stableText(for: facts)
        #expect(text == "sha256:" + SHA256.hex("header:x-api-key=\(value)|method=GET"))
        #expect(text.utf8.count == 7 + 64)
    }
}
