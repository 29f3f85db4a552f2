import Levee
import TOMLKit
import Testing

@testable import LeveeProxy

@Suite struct FilterConfigurationTests {
    /// A crude line finder for the tests: the line of `rule[i]`'s header or of a key in it.
    private func decode(_ text: String) throws -> (FilterConfiguration, [ConfigurationError]) {
        let root = try TOMLTable(string: text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let lineOf: (String) -> Int? = { path in
            // rule[N].key → the line of `key =` after the N-th [[rule]]; filter.x → the line of `x =`.
            var ruleIndex = -1
            var target = path
            var wantRule: Int?
            if path.hasPrefix("rule["), let close = path.firstIndex(of: "]") {
                wantRule = Int(path[path.index(path.startIndex, offsetBy: 5)..<close])
                target = String(path[path.index(after: close)...].drop(while: { $0 == "." }))
            }
            let leaf = target.split(separator: ".").last.map { String($0.prefix { $0 != "[" }) } ?? ""
            for (n, line) in lines.enumerated() {
                if line.hasPrefix("[[rule]]") { ruleIndex += 1; if wantRule == ruleIndex && leaf.isEmpty { return n + 1 } }
                if wantRule == nil || wantRule == ruleIndex, !leaf.isEmpty,
                   line.trimmingASCIISpaces().hasPrefix(leaf + " =") || line.trimmingASCIISpaces().hasPrefix(leaf + "=") { return n + 1 }
            }
            return nil
        }
        var errors: [ConfigurationError] = []
        let configuration = FilterConfiguration.decode(from: root, file: "levee.toml", lineOf: lineOf, errors: &errors)
        return (configuration, errors)
    }

    @Test func decodesAFullFilterSection() throws {
        let (c, errors) = try decode("""
            [filter]
            trusted_proxies = ["10.0.0.0/8", "2001:db8::/32"]
            client_header = "forwarded"
            trusted = ["192.168.0.0/16"]
            trusted_tokens = ["abc"]
            known_cookies = ["session"]
            suspicious_for = "10m"

            [filter.challenge]
            difficulty = 18
            lifetime = "2h"
            key = "000102030405060708090a0b0c0d0e0f"

            [filter.ban]
            ladder = ["1m", "10m", "1h", "1d"]
            after = "5/min burst 10"

            [[rule]]
            name = "per-ip"
            key = "ip"
            limit = "20/s burst 40"
            action = "reject"
            headers = "always"

            [[rule]]
            name = "login"
            key = ["subnet", "path"]
            limit = "5/min"
            action = "challenge"
            fallback = "pass"
            mode = "log-only"
            [rule.match]
            methods = ["post"]
            path = "/login/**"
            classes = ["unknown", "suspicious"]
            headers = { "X-Env" = "prod", "Authorization" = true }
            cookies = { session = true }

            [[rule]]
            name = "paced"
            limit = "2/s burst 10"
            action = "delay"
            max_delay = "3s"
            """)
        #expect(errors.isEmpty, "\(errors)")
        #expect(c.trustedProxies == [CIDR("10.0.0.0/8")!, CIDR("2001:db8::/32")!])
        #expect(c.clientHeader == .forwarded)
        #expect(c.classes.trustedNetworks == [CIDR("192.168.0.0/16")!])
        #expect(c.classes.suspiciousFor == .seconds(600))
        #expect(c.challenge.difficulty == 18 && c.challenge.clearanceLifetime == .seconds(7200) && c.challenge.key?.count == 16)
        #expect(c.bans.ladder == [.seconds(60), .seconds(600), .seconds(3600), .seconds(86_400)])
        #expect(c.bans.after == (try Quota(parsing: "5/min burst 10")))
        #expect(c.rules.map(\.name) == ["per-ip", "login", "paced"])
        #expect(c.rules[0].quota == (try Quota(parsing: "20/s burst 40")) && c.rules[0].headers == .always)
        let login = c.rules[1]
        #expect(login.key == RuleKey([.subnet, .path]))
        #expect(login.action == .challenge(fallback: .pass) && login.logOnly)
        #expect(login.match.methods == ["POST"] && login.match.pathPattern == GlobPattern("/login/**"))
        #expect(login.match.classes == [.unknown, .suspicious])
        #expect(login.match.headers == [.init(name: "Authorization"), .init(name: "X-Env", equals: "prod")])
        #expect(login.match.cookies == [.init(name: "session")])
        #expect(c.rules[2].action == .delay(maxDelay: .seconds(3)))
        // The decoded configuration runs.
        _ = FloodFilter(configuration: c)
    }

    @Test func badRulesAreRefusedWithFieldAndLine() throws {
        let (_, errors) = try decode("""
            [filter]
            trusted_proxies = ["10.0.0.0/33"]

            [[rule]]
            name = "one"
            limit = "20/parsec"
            action = "reject"

            [[rule]]
            name = "two"
            key = "fingerprint"
            limit = "1/s"
            action = "explode"

            [[rule]]
            name = "three"
            acton = "block"
            action = "delay"
            """)
        let byField = Dictionary(errors.map { ($0.field, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byField["filter.trusted_proxies[0]"]?.message.contains("10.0.0.0/33") == true)
        let limit = try #require(byField["rule[0].limit"])
        #expect(limit.line == 6)
        #expect(limit.description.hasPrefix("levee.toml:6: rule[0].limit: "))
        #expect(byField["rule[1].key"]?.message.contains("unknown key kind \"fingerprint\"") == true)
        let action = try #require(byField["rule[1].action"])
        #expect(action.message.contains("unknown action \"explode\"") && action.line == 13)
        #expect(byField["rule[2].acton"]?.message == "unknown key")
        #expect(byField["rule[2].action"]?.message.contains("delay needs a limit") == true)
    }

    @Test func duplicateNamesAndMisplacedOptions() throws {
        let (_, errors) = try decode("""
            [[rule]]
            name = "a"
            limit = "1/s"
            tarpit = "5s"

            [[rule]]
            name = "a"
            limit = "1/s burst 2"
            cost = 5
            [rule.match]
            classes = ["vip"]
            """)
        let fields = errors.map(\.field)
        #expect(fields.contains("rule[0].tarpit"))
        #expect(fields.contains("rule[1].cost"))
        #expect(fields.contains("rule[1].match.classes[0]"))
        // rule[1] had errors, so it was not added and cannot clash; a clean duplicate does.
        let (_, dup) = try decode("[[rule]]\nname = \"a\"\nlimit = \"1/s\"\n[[rule]]\nname = \"a\"\nlimit = \"2/s\"\n")
        #expect(dup.map(\.field) == ["rule[1].name"])
    }

    @Test func durationsAndQuickForm() throws {
        #expect(FilterConfigurationReader.parseDuration("500ms") == .milliseconds(500))
        #expect(FilterConfigurationReader.parseDuration("90") == .seconds(90))
        #expect(FilterConfigurationReader.parseDuration("2 min") == .seconds(120))
        #expect(FilterConfigurationReader.parseDuration("1w") == nil)
        #expect(FilterConfigurationReader.parseDuration("-1s") == nil)
        let quick = FilterConfiguration.quick(limit: try Quota(parsing: "10/s burst 20"))
        #expect(quick.rules.count == 1 && quick.rules[0].action == .reject && quick.rules[0].key == .ip)
        // An empty file is an empty filter.
        let (empty, errors) = try decode("")
        #expect(errors.isEmpty && empty == FilterConfiguration())
    }
}
