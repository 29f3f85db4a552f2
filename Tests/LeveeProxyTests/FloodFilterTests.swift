import Levee
import NIOCore
import NIOHTTP1
import Testing

@testable import LeveeProxy

@Suite struct FloodFilterTests {
    private static let wall: Int64 = 1_800_000_000

    private func filter(_ rules: [FilterRule], configure: (inout FilterConfiguration) -> Void = { _ in }) -> (FloodFilter, ManualClock) {
        var configuration = FilterConfiguration(rules: rules)
        configuration.challenge.key = Array(repeating: 7, count: 32)
        configuration.challenge.difficulty = 8
        configure(&configuration)
        let clock = ManualClock(start: 1_000_000_000_000)
        return (FloodFilter(configuration: configuration, clock: clock, wallClock: { FloodFilterTests.wall }), clock)
    }

    @Test func clientOverQuotaGets429WhileAnotherIsUnaffected() throws {
        let (f, clock) = filter([FilterRule(name: "per-ip", quota: try Quota(parsing: "2/s burst 3"))])
        for _ in 0..<3 { #expect(f.evaluate(filterRequest(peer: "203.0.113.1")).isForward) }
        let denied = f.evaluate(filterRequest(peer: "203.0.113.1", headers: [("Accept", "application/json")]))
        let response = try #require(denied.response)
        #expect(response.status == .tooManyRequests)
        // 3 tokens spent at 2/s: the next one arrives in 0.5 s, so Retry-After rounds up to 1;
        // the bucket is full again after 1.5 s, so t = 2.
        #expect(response.headers["Retry-After"] == ["1"])
        #expect(response.headers["RateLimit-Policy"] == ["\"per-ip\";q=3;w=2"])
        #expect(response.headers["RateLimit"] == ["\"per-ip\";r=0;t=2"])
        #expect(response.headers["Content-Type"] == ["application/problem+json"])
        #expect(String(buffer: response.body).contains("\"status\":429"))
        // Another client, same instant: unaffected.
        for _ in 0..<3 { #expect(f.evaluate(filterRequest(peer: "203.0.113.2")).isForward) }
        // After the announced Retry-After the first client gets through again.
        clock.advance(by: .seconds(1))
        #expect(f.evaluate(filterRequest(peer: "203.0.113.1")).isForward)

        let stats = f.statistics()
        #expect(stats.rule("per-ip")?[.allowed] == 7)
        #expect(stats.rule("per-ip")?[.limited] == 1)
        #expect(stats.requests == 8)
        #expect(stats.topTalkers.first?.client == "203.0.113.1")
    }

    @Test func htmlClientsGetHTMLErrorBodies() throws {
        let (f, _) = filter([FilterRule(name: "per-ip", quota: try Quota(parsing: "1/min burst 1"))])
        _ = f.evaluate(filterRequest())
        let denied = f.evaluate(filterRequest(headers: [("Accept", "text/html,*/*;q=0.8")]))
        #expect(denied.response?.headers["Content-Type"] == ["text/html; charset=utf-8"])
    }

    @Test func logOnlyCountsAndNeverBlocks() throws {
        let (f, _) = filter([FilterRule(name: "trial", quota: try Quota(parsing: "1/min burst 2"), action: .block, logOnly: true)])
        for _ in 0..<10 { #expect(f.evaluate(filterRequest()).isForward) }
        let stats = f.statistics()
        #expect(stats.rule("trial")?[.logOnly] == 8)
        #expect(stats.rule("trial")?[.blocked] == 0)
        #expect(stats.classes[.suspicious] == 0)
    }

    @Test func deniedRequestsRefundTheOtherRules() throws {
        let (f, _) = filter([
            FilterRule(name: "per-ip", quota: try Quota(parsing: "1/min burst 3")),
            FilterRule(name: "per-path", key: RuleKey([.path]), quota: try Quota(parsing: "1/min burst 1")),
        ]) { $0.bans.enabled = false }
        #expect(f.evaluate(filterRequest("/a")).isForward)
        let second = f.evaluate(filterRequest("/a"))
        #expect(second.status == 429)
        #expect(second.response?.headers["RateLimit"].first?.hasPrefix("\"per-path\"") == true)
        #expect(f.evaluate(filterRequest("/a")).status == 429)
        // per-ip was refunded for both denials: two more paths still fit in its burst of 3.
        #expect(f.evaluate(filterRequest("/b")).isForward)
        #expect(f.evaluate(filterRequest("/c")).isForward)
        let fourth = f.evaluate(filterRequest("/d"))
        #expect(fourth.response?.headers["RateLimit"].first?.hasPrefix("\"per-ip\"") == true)
    }

    @Test func aggregateSubnetBudgetStopsLowAndSlow() throws {
        let (f, _) = filter([
            FilterRule(name: "per-ip", quota: try Quota(parsing: "10/s burst 10")),
            FilterRule(name: "per-subnet", key: RuleKey([.subnet]), quota: try Quota(parsing: "5/s burst 5")),
        ])
        // Each of 8 addresses in one /24 sends one request: far under per-ip, over per-subnet.
        let verdicts = (1...8).map { f.evaluate(filterRequest(peer: "192.0.2.\($0)")) }
        #expect(verdicts.filter(\.isForward).count == 5)
        #expect(f.evaluate(filterRequest(peer: "192.0.3.1")).isForward)
    }

    @Test func rateLimitFieldsOnAllowedResponsesWhenConfigured() throws {
        let (f, _) = filter([FilterRule(name: "api", quota: try Quota(parsing: "100/min burst 100"), headers: .always)])
        let headers = try #require(f.evaluate(filterRequest()).forwardHeaders)
        #expect(headers["RateLimit-Policy"] == ["\"api\";q=100;w=60"])
        #expect(headers["RateLimit"] == ["\"api\";r=99;t=1"])
    }

    @Test func delayQueuesLikeNginxBurstWithoutNodelay() throws {
        let (f, _) = filter([FilterRule(name: "paced", quota: try Quota(parsing: "2/s burst 3"), action: .delay(maxDelay: .seconds(5)))])
        let verdicts = (0..<4).map { _ in f.evaluate(filterRequest()) }
        #expect(verdicts[0].isForward)
        #expect(verdicts[1].delay == .milliseconds(500))
        #expect(verdicts[2].delay == .milliseconds(1000))
        #expect(verdicts[3].status == 429)  // the queue (burst 3) is full
        #expect(f.statistics().rule("paced")?[.delayed] == 2)
    }

    @Test func delayBeyondMaxDelayIsRefusedAndRefunded() throws {
        let (f, _) = filter([FilterRule(name: "paced", quota: try Quota(parsing: "1/s burst 10"), action: .delay(maxDelay: .milliseconds(1500)))])
        #expect(f.evaluate(filterRequest()).isForward)
        #expect(f.evaluate(filterRequest()).delay == .seconds(1))
        #expect(f.evaluate(filterRequest()).status == 429)  // would wait 2 s
        #expect(f.evaluate(filterRequest()).status == 429)  // still 2 s: the refused one was refunded
    }

    @Test func blockTarpitCloseAndAccessRules() throws {
        let (f, _) = filter([
            FilterRule(name: "no-php", match: RuleMatch(pathPattern: GlobPattern("/**.php")), quota: nil, action: .block),
            FilterRule(name: "slow-down", match: RuleMatch(pathPrefix: "/search"), quota: try Quota(parsing: "1/min burst 1"), action: .tarpit(.seconds(7))),
            FilterRule(name: "hang-up", match: RuleMatch(methods: ["DELETE"]), quota: nil, action: .close),
        ])
        #expect(f.evaluate(filterRequest("/wp/login.php")).status == 403)
        #expect(f.evaluate(filterRequest("/search")).isForward)
        if case .tarpit(let d, let r) = f.evaluate(filterRequest("/search")) {
            #expect(d == .seconds(7) && r.status == .tooManyRequests)
        } else {
            Issue.record("expected a tarpit")
        }
        if case .close = f.evaluate(filterRequest("/x", method: .DELETE)) {} else { Issue.record("expected close") }
        #expect(f.evaluate(filterRequest("/index.html")).isForward)
        #expect(f.statistics().rule("no-php")?[.blocked] == 1)
    }

    @Test func banRuleEscalatesAndExpiresWithTheClock() throws {
        let (f, clock) = filter([FilterRule(name: "hammer", quota: try Quota(parsing: "1/s burst 2"), action: .ban)]) {
            $0.bans.ladder = [.seconds(60), .seconds(600)]
        }
        let client = "203.0.113.66"
        #expect(f.evaluate(filterRequest(peer: client)).isForward)
        #expect(f.evaluate(filterRequest(peer: client)).isForward)
        let banned = f.evaluate(filterRequest(peer: client))
        #expect(banned.status == 403)
        #expect(banned.response?.headers["Retry-After"] == ["60"])
        clock.advance(by: .seconds(30))
        let still = f.evaluate(filterRequest(peer: client))
        #expect(still.status == 403 && still.response?.headers["Retry-After"] == ["30"])
        #expect(still.response?.headers["Content-Type"] == ["application/problem+json"])
        let page = f.evaluate(filterRequest(peer: client, headers: [("Accept", "TEXT/HTML,*/*;q=0.1")]))
        #expect(page.response?.headers["Content-Type"] == ["text/html; charset=utf-8"])
        #expect(page.response?.headers["Retry-After"] == ["30"])
        #expect(FloodFilter.mentionsHTML("application/xhtml+xml") && !FloodFilter.mentionsHTML("*/*") && !FloodFilter.mentionsHTML("hhtm"))
        #expect(f.evaluate(filterRequest(peer: "203.0.113.67")).isForward)
        clock.advance(by: .seconds(31))
        // Ban over: allowed again; exceeding again earns the next rung.
        #expect(f.evaluate(filterRequest(peer: client)).isForward)
        #expect(f.evaluate(filterRequest(peer: client)).isForward)
        #expect(f.evaluate(filterRequest(peer: client)).response?.headers["Retry-After"] == ["600"])
        let stats = f.statistics()
        #expect(stats.rule("hammer")?[.banned] == 2)
        #expect(stats.refusedWhileBanned == 2)
        #expect(stats.classes[.banned] == 2)
        #expect(f.activeBans().count == 1)
        #expect(f.unban(CIDR(client)!))
        #expect(f.evaluate(filterRequest(peer: client)).status == 403)  // its bucket is still empty: banned anew
        #expect(f.unban(CIDR(client)!))
        clock.advance(by: .seconds(2))
        #expect(f.evaluate(filterRequest(peer: client)).isForward)
    }

    @Test func clientThatKeepsExceedingIsBannedAutomatically() throws {
        let (f, clock) = filter([FilterRule(name: "per-ip", quota: try Quota(parsing: "1/min burst 1"))]) {
            $0.bans.after = try! Quota(parsing: "1/min burst 3")
            $0.bans.ladder = [.seconds(120)]
            $0.classes.suspiciousFor = .seconds(30)
        }
        let client = "198.51.100.200"
        #expect(f.evaluate(filterRequest(peer: client)).isForward)
        // Three 429s are tolerated (the strikes' burst); the fourth offence bans.
        for _ in 0..<4 { #expect(f.evaluate(filterRequest(peer: client)).status == 429) }
        let banned = f.evaluate(filterRequest(peer: client))
        #expect(banned.status == 403 && banned.response?.headers["Retry-After"] == ["120"])
        clock.advance(by: .seconds(121))
        #expect(f.statistics().activeBans == 0)
    }

    @Test func classTransitions() throws {
        let token = "s3cret-token"
        let (f, clock) = filter([
            FilterRule(name: "per-ip", quota: try Quota(parsing: "1/min burst 1")),
            FilterRule(name: "observe", match: RuleMatch(classes: ClientClass.allCases), quota: nil, action: .block, logOnly: true),
        ]) {
            $0.classes.trustedNetworks = [CIDR("10.0.0.0/8")!]
            $0.classes.trustedTokens = [token]
            $0.classes.knownCookies = ["session"]
            $0.classes.suspiciousFor = .seconds(60)
            $0.bans.enabled = false
        }
        func classOf(_ request: RequestContext) -> ClientClass {
            let before = f.statistics().classes
            _ = f.evaluate(request)
            let after = f.statistics().classes
            return ClientClass.allCases.first { after[$0] != before[$0] }!
        }
        #expect(classOf(filterRequest(peer: "10.1.2.3")) == .trusted)
        #expect(classOf(filterRequest(peer: "198.51.100.9", headers: [("X-Levee-Token", token)])) == .trusted)
        #expect(classOf(filterRequest(peer: "198.51.100.9", headers: [("X-Levee-Token", "wrong")])) == .unknown)
        #expect(classOf(filterRequest(peer: "198.51.100.10", headers: [("Cookie", "session=abc")])) == .known)
        // Trusted clients bypass rules: many requests, none limited.
        for _ in 0..<5 { #expect(f.evaluate(filterRequest(peer: "10.1.2.3")).isForward) }
        // unknown → suspicious after going over a limit → unknown again after suspicious_for.
        let client = "203.0.113.30"
        #expect(classOf(filterRequest(peer: client)) == .unknown)
        #expect(f.evaluate(filterRequest(peer: client)).status == 429)
        #expect(classOf(filterRequest(peer: client)) == .suspicious)
        clock.advance(by: .seconds(61))
        #expect(classOf(filterRequest(peer: client)) == .unknown)
        // A valid clearance cookie makes a client verified, even right after an offence.
        #expect(f.evaluate(filterRequest(peer: client)).status == 429)
        let cookie = f.challenge.clearance(for: ClientAddress(client)!, now: FloodFilterTests.wall)
        #expect(classOf(filterRequest(peer: client, headers: [("Cookie", "levee_clearance=\(cookie)")])) == .verified)
        // A cookie from another subnet does not verify.
        #expect(classOf(filterRequest(peer: "192.0.2.99", headers: [("Cookie", "levee_clearance=\(cookie)")])) == .unknown)
        // An operator ban → banned; lifting it → back.
        f.ban(CIDR("192.0.2.0/24")!, duration: .seconds(10), reason: "test")
        #expect(classOf(filterRequest(peer: "192.0.2.99")) == .banned)
        clock.advance(by: .seconds(11))
        #expect(classOf(filterRequest(peer: "192.0.2.99")) == .unknown)
    }

    @Test func xForwardedForFromUntrustedPeerIsKeyedBySocketAddress() throws {
        let (f, _) = filter([FilterRule(name: "per-ip", quota: try Quota(parsing: "1/min burst 1"))]) {
            $0.trustedProxies = [CIDR("127.0.0.0/8")!]
        }
        // An untrusted client rotating X-Forwarded-For is still one client.
        #expect(f.evaluate(filterRequest(peer: "198.51.100.5", headers: [("X-Forwarded-For", "1.1.1.1")])).isForward)
        #expect(f.evaluate(filterRequest(peer: "198.51.100.5", headers: [("X-Forwarded-For", "2.2.2.2")])).status == 429)
        #expect(f.statistics().untrustedForwarding == 2)
        // Behind the trusted balancer each forwarded client has its own budget.
        #expect(f.evaluate(filterRequest(peer: "127.0.0.1", headers: [("X-Forwarded-For", "203.0.113.1")])).isForward)
        #expect(f.evaluate(filterRequest(peer: "127.0.0.1", headers: [("X-Forwarded-For", "203.0.113.2")])).isForward)
        #expect(f.evaluate(filterRequest(peer: "127.0.0.1", headers: [("X-Forwarded-For", "203.0.113.1")])).status == 429)
        // PROXY protocol from the trusted hop names the client too.
        #expect(f.evaluate(filterRequest(peer: "127.0.0.2", proxyProtocol: "203.0.113.3")).isForward)
        #expect(f.evaluate(filterRequest(peer: "127.0.0.2", proxyProtocol: "203.0.113.3")).status == 429)
    }

    @Test func challengeRoundTripThroughTheFilter() throws {
        let (f, _) = filter([
            FilterRule(name: "gate", match: RuleMatch(pathPrefix: "/app", classes: [.unknown, .suspicious]), quota: nil,
                       action: .challenge(fallback: .reject)),
            FilterRule(name: "feeds", match: RuleMatch(pathPrefix: "/feed", classes: [.unknown, .suspicious]), quota: nil,
                       action: .challenge(fallback: .pass)),
        ])
        let browser = [("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")]
        let page = try #require(f.evaluate(filterRequest("/app/home?x=1", peer: "203.0.113.40", headers: browser)).response)
        #expect(page.status == .forbidden)
        let html = String(buffer: page.body)
        // Pull the token out of the page and solve it as the script would.
        let start = try #require(html.firstRange(of: "const token = \""))
        let rest = html[start.upperBound...]
        let token = String(rest[..<rest.firstIndex(of: "\"")!])
        let nonce = try #require(ChallengeAuthority.solve(token: token, difficulty: 8))
        let back = "%2Fapp%2Fhome%3Fx%3D1"
        let verify = f.evaluate(filterRequest("/.levee/challenge/verify?c=\(token)&n=\(nonce)&r=\(back)", peer: "203.0.113.41"))
        let answer = try #require(verify.response)
        #expect(answer.status == .seeOther)
        #expect(answer.headers["Location"] == ["/app/home?x=1"])
        let setCookie = try #require(answer.headers["Set-Cookie"].first)
        let cookie = String(setCookie[..<setCookie.firstIndex(of: ";")!])
        // With the cookie: through (verified), from the same /24.
        #expect(f.evaluate(filterRequest("/app/home", peer: "203.0.113.40", headers: browser + [("Cookie", cookie)])).isForward)
        // A tampered answer is refused.
        #expect(f.evaluate(filterRequest("/.levee/challenge/verify?c=\(token)x&n=\(nonce)", peer: "203.0.113.41")).status == 403)
        // Clients that cannot run JavaScript get the fallback: 429 here, pass for feeds.
        #expect(f.evaluate(filterRequest("/app/api", peer: "203.0.113.40", headers: [("Accept", "application/json")])).status == 429)
        #expect(f.evaluate(filterRequest("/feed.xml", peer: "203.0.113.40", headers: [("Accept", "application/rss+xml")])).isForward)
        let stats = f.statistics()
        #expect(stats.challengesPassed == 1 && stats.challengesFailed == 1)
        #expect(stats.rule("gate")?[.challenged] == 1)
        #expect(stats.classes[.verified] == 1)
    }

    @Test func concurrentEvaluationsCountEveryRequest() async throws {
        let (f, _) = filter([FilterRule(name: "per-ip", quota: try Quota(parsing: "1/min burst 100"))]) { $0.bans.enabled = false }
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask { for _ in 0..<100 { _ = f.evaluate(filterRequest(peer: "192.0.2.\(t % 2 + 1)")) } }
            }
        }
        let stats = f.statistics()
        #expect(stats.requests == 400)
        // Two clients, 200 requests each, 100 admitted each: no more, no less.
        #expect(stats.rule("per-ip")?[.allowed] == 200)
        #expect(stats.rule("per-ip")?[.limited] == 200)
    }
}

@Suite struct FilterStatisticsJSONTests {
    @Test func statisticsAndBansAsJSON() throws {
        let clock = ManualClock(start: 1_000_000_000)
        let f = FloodFilter(configuration: FilterConfiguration(rules: [FilterRule(name: "per-ip", quota: try Quota(parsing: "1/min burst 1"))]),
                            clock: clock)
        _ = f.evaluate(filterRequest(peer: "203.0.113.9"))
        _ = f.evaluate(filterRequest(peer: "203.0.113.9"))
        let json = f.statistics().json
        #expect(json.hasPrefix("{\"requests\":2,\"rules\":{\"per-ip\":{\"allowed\":1,\"limited\":1,"))
        #expect(json.contains("\"classes\":{\"trusted\":0,\"verified\":0,\"known\":0,\"unknown\":2,\"suspicious\":0,\"banned\":0}"))
        #expect(json.contains("\"top_talkers\":[{\"client\":\"203.0.113.9\",\"requests\":2,\"error\":0,\"ja4\":[]}]"))
        let ban = f.ban(CIDR("198.51.100.0/24")!, duration: .seconds(90), reason: "abuse \"report\"")
        clock.advance(by: .milliseconds(500))
        #expect(ban.json(at: f.now) == "{\"network\":\"198.51.100.0/24\",\"remaining_seconds\":90,\"level\":0,\"reason\":\"abuse \\\"report\\\"\"}")
    }
}
