import Levee
import NIOHTTP1
import Testing

@testable import LeveeProxy

@Suite struct FilterRuleTests {
    private func facts(_ uri: String = "/", method: HTTPMethod = .GET, headers: [(String, String)] = [],
                       peer: String = "203.0.113.7", clientClass: ClientClass = .unknown, route: String = "default") -> RequestFacts {
        RequestFacts(request: filterRequest(uri, method: method, peer: peer, headers: headers, route: route),
                     address: ClientAddress(peer), clientClass: clientClass)
    }

    @Test func globPatterns() {
        #expect(GlobPattern("/api/*/items").matches("/api/v1/items"))
        #expect(!GlobPattern("/api/*/items").matches("/api/v1/x/items"))
        #expect(GlobPattern("/static/**").matches("/static/css/a.css"))
        #expect(GlobPattern("*.php").matches("index.php"))
        #expect(!GlobPattern("/*.php").matches("/a/index.php"))
        #expect(GlobPattern("/**.php").matches("/a/index.php"))
        #expect(GlobPattern("/v?/x").matches("/v2/x"))
        #expect(!GlobPattern("/v?/x").matches("/v//x"))
        #expect(GlobPattern("/exact").matches("/exact") && !GlobPattern("/exact").matches("/exact/"))
    }

    @Test func matchingConditions() {
        let m = RuleMatch(methods: ["POST"], hosts: ["*.example.com", "api.test"], pathPrefix: "/login",
                          headers: [.init(name: "X-Env", equals: "prod"), .init(name: "Authorization")],
                          cookies: [.init(name: "session")], classes: [.unknown, .suspicious])
        let good: [(String, String)] = [("Host", "www.Example.com:8443"), ("X-Env", "prod"), ("Authorization", "Bearer x"), ("Cookie", "a=1; session=abc")]
        #expect(m.matches(facts("/login?next=/", method: .POST, headers: good)))
        #expect(!m.matches(facts("/login", method: .GET, headers: good)))
        #expect(!m.matches(facts("/logout", method: .POST, headers: good)))
        #expect(!m.matches(facts("/login", method: .POST, headers: good, clientClass: .verified)))
        var wrongHost = good
        wrongHost[0] = ("Host", "example.com")
        #expect(!m.matches(facts("/login", method: .POST, headers: wrongHost)))
        var noCookie = good
        noCookie[3] = ("Cookie", "a=1")
        #expect(!m.matches(facts("/login", method: .POST, headers: noCookie)))
        var wrongHeader = good
        wrongHeader[1] = ("X-Env", "dev")
        #expect(!m.matches(facts("/login", method: .POST, headers: wrongHeader)))
        #expect(RuleMatch(hosts: ["api.test"]).matches(facts(headers: [("Host", "API.test")])))
        #expect(RuleMatch(routes: ["api"]).matches(facts(route: "api")) && !RuleMatch(routes: ["api"]).matches(facts(route: "web")))
    }

    @Test func trustedBypassesRulesUnlessNamed() {
        #expect(RuleMatch().matches(facts(clientClass: .unknown)))
        #expect(RuleMatch().matches(facts(clientClass: .banned)))
        #expect(!RuleMatch().matches(facts(clientClass: .trusted)))
        #expect(RuleMatch(classes: [.trusted]).matches(facts(clientClass: .trusted)))
    }

    @Test func keysSeparateAndAggregate() {
        let a = facts("/x", peer: "203.0.113.7"), b = facts("/x", peer: "203.0.113.8"), c = facts("/y", peer: "203.0.113.7")
        let v6a = facts(peer: "2001:db8:1:2::1"), v6b = facts(peer: "2001:db8:1:2::ffff")
        #expect(RuleKey.ip.limiterKey(for: a) == LimiterKey(ipv4: 203, 0, 113, 7))
        #expect(RuleKey.ip.limiterKey(for: a) != RuleKey.ip.limiterKey(for: b))
        #expect(RuleKey([.subnet]).limiterKey(for: a) == RuleKey([.subnet]).limiterKey(for: b))
        #expect(RuleKey([.subnet]).limiterKey(for: v6a) == RuleKey([.subnet]).limiterKey(for: v6b))
        #expect(RuleKey([.ip]).limiterKey(for: v6a) != RuleKey([.ip]).limiterKey(for: v6b))
        #expect(RuleKey([.global]).limiterKey(for: a) == RuleKey([.global]).limiterKey(for: v6b))
        let subnetPath = RuleKey([.subnet, .path])
        #expect(subnetPath.limiterKey(for: a) == subnetPath.limiterKey(for: b))
        #expect(subnetPath.limiterKey(for: a) != subnetPath.limiterKey(for: c))
        let byHeader = RuleKey([.header("x-api-key")])
        #expect(byHeader.limiterKey(for: facts(headers: [("X-Api-Key", "k1")])) == byHeader.limiterKey(for: facts(headers: [("X-Api-Key", "k1")], peer: "192.0.2.1")))
        #expect(byHeader.limiterKey(for: facts(headers: [("X-Api-Key", "k1")])) != byHeader.limiterKey(for: facts(headers: [("X-Api-Key", "k2")])))
        #expect(RuleKey.Part("cookie:SessionID") == .cookie("SessionID"))
        #expect(RuleKey.Part("ip/64") == .subnet)
        #expect(RuleKey.Part("fingerprint") == nil)
    }

    @Test func cookieParsing() {
        let f = facts(headers: [("Cookie", "a=1; b=\"two\""), ("Cookie", "c=3")])
        #expect(f.cookie("a") == "1" && f.cookie("b") == "two" && f.cookie("c") == "3" && f.cookie("d") == nil)
    }

    @Test func policyOfAQuota() throws {
        let rule = FilterRule(name: "per-ip", quota: try Quota(parsing: "20/s burst 40"))
        #expect(rule.policy == RateLimitHeaders.Policy(name: "per-ip", quota: 40, windowSeconds: 2))
    }
}
