import Foundation
import Levee
import LeveeRedis
import Testing

@testable import LeveeProxy

/// `[fleet]` and `scope = "global"` as `levee check` reads them: values, defaults and errors that
/// name the line and field.
@Suite("Configuration of global rules ([fleet], scope = \"global\")")
struct FleetConfigurationTests {
    static let head = """
        [[route]]
        upstream = "app"
        [upstream.app]
        backends = ["127.0.0.1:9000"]

        """

    /// Writes `body` after a minimal route into a new directory (the caller removes it).
    func write(_ body: String) throws -> (directory: TemporaryDirectory, path: String) {
        let directory = try TemporaryDirectory()
        return (directory, try directory.write("levee.toml", Self.head + body))
    }

    /// Writes `body` after a minimal route and checks it as `levee check` does.
    func check(_ body: String) throws -> (report: ConfigurationCheck.Report, path: String) {
        let (directory, path) = try write(body)
        defer { directory.remove() }
        return (ConfigurationCheck.run(file: path, environment: [:]), path)
    }

    /// Checks `body` as `levee check` does and expects it refused with exactly `lines` (given the
    /// file's path), in order.
    func expectRefused(
        _ body: String, _ lines: (_ path: String) -> [String], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (report, path) = try check(body)
        #expect(!report.ok, sourceLocation: sourceLocation)
        #expect(report.lines == lines(path), sourceLocation: sourceLocation)
    }

    @Test("a [fleet] table and a global rule decode to the lease rule the limiter runs")
    func decodes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("levee.toml", Self.head + """
            [fleet]
            redis = "127.0.0.1:6390"
            key_prefix = "shop:"
            connect_timeout = "1s"
            command_timeout = "100ms"
            lease = 8
            credit = 2
            fail = "open"
            fail_retry = "300ms"

            [[rule]]
            name = "api"
            limit = "600/min burst 60"
            scope = "global"

            [[rule]]
            name = "login"
            key = "subnet+path"
            limit = "5/min burst 5"
            scope = "global"
            lease = 1
            credit = 0
            fail = "closed"

            [[rule]]
            name = "search"
            limit = "10/s burst 20"
            scope = "global"
            fail_limit = "2/s burst 4"

            [[rule]]
            name = "local"
            limit = "10/s burst 20"
            """)
        let c = try ProxyConfiguration.load(file: path, environment: [:])
        let fleet = try #require(c.filter.fleet)
        #expect(fleet == FleetSettings(host: "127.0.0.1", port: 6390, keyPrefix: "shop:", connectTimeout: .seconds(1),
                                       commandTimeout: .milliseconds(100), leaseSize: 8, initialCredit: 2, failMode: .open,
                                       failRetry: .milliseconds(300)))
        let rules = c.filter.rules
        #expect(rules.map(\.scope.isGlobal) == [true, true, true, false])

        let api = try #require(fleet.fleetRule(for: rules[0]))
        #expect(api.leaseSize == 8 && api.initialCredit == 2 && api.failureRetryInterval == .milliseconds(300))
        #expect(api.failMode == .open(fallback: try Quota(parsing: "600/min burst 60")))
        let login = try #require(fleet.fleetRule(for: rules[1]))
        #expect(login.leaseSize == 1 && login.initialCredit == 0 && login.failMode == .closed)
        let search = try #require(fleet.fleetRule(for: rules[2]))
        #expect(search.failMode == .open(fallback: try Quota(parsing: "2/s burst 4")))
        #expect(fleet.fleetRule(for: rules[3]) == nil)
    }

    @Test("without lease settings a global rule leases a tenth of its burst, never less than its cost")
    func defaultLease() throws {
        let fleet = FleetSettings()
        let rule = FilterRule(name: "r", quota: try Quota(parsing: "100/s burst 50"), scope: .global(GlobalRuleOptions()))
        #expect(fleet.fleetRule(for: rule)?.leaseSize == 5)
        var costly = rule
        costly.cost = 8
        #expect(fleet.fleetRule(for: costly)?.leaseSize == 8)
        #expect(fleet.fleetRule(for: rule)?.failMode == .closed)
    }

    @Test("a global rule without [fleet] is an error naming the rule's scope line")
    func globalNeedsFleet() throws {
        try expectRefused("""
            [[rule]]
            name = "api"
            limit = "10/s burst 20"
            scope = "global"
            """) { path in [
            "\(path):8: rule[0].scope: scope = \"global\" needs a [fleet] table saying where Redis is (e.g. [fleet] redis = \"127.0.0.1:6379\")",
            "\(path): 1 error",
        ] }
    }

    @Test("bad [fleet] values are reported one by one, in line order")
    func badFleet() throws {
        try expectRefused("""
            [fleet]
            redis = "localhost"
            command_timeout = "soon"
            connect_timeout = "0ms"
            lease = 0
            credit = -1
            fail = "maybe"
            pool = 4
            """) { path in [
            "\(path):6: fleet.redis: invalid address \"localhost\" (expected host:port, e.g. \"127.0.0.1:6379\")",
            "\(path):7: fleet.command_timeout: \"soon\" is not a duration (e.g. \"500ms\", \"30s\", \"10m\", \"1h\", \"1d\")",
            "\(path):8: fleet.connect_timeout: must be a positive duration of at most 60s",
            "\(path):9: fleet.lease: must be at least 1 token",
            "\(path):10: fleet.credit: must be 0 or more tokens",
            "\(path):11: fleet.fail: \"maybe\" is not one of open, closed",
            "\(path):12: fleet.pool: unknown key",
            "\(path): 7 errors",
        ] }
    }

    @Test("[fleet] credentials: the password from the environment, an ACL user, a database")
    func credentials() throws {
        let (directory, path) = try write("""
            [fleet]
            redis = "127.0.0.1:6390"
            password_env = "TEST_REDIS_PASSWORD"
            username = "levee"
            database = 3
            """)
        defer { directory.remove() }
        let configuration = try ProxyConfiguration.load(file: path, environment: ["TEST_REDIS_PASSWORD": "s3cret pass"])
        let fleet = try #require(configuration.filter.fleet)
        #expect(fleet.password == "s3cret pass" && fleet.username == "levee" && fleet.database == 3)
        let client = fleet.clientConfiguration
        #expect(client.password == "s3cret pass" && client.username == "levee" && client.database == 3)
        #expect(!"\(client)".contains("s3cret"))  // logs name the server, never the password
        #expect(ConfigurationCheck.run(file: path, environment: ["TEST_REDIS_PASSWORD": "x"]).ok)
        // The variable unset (or empty) is an error, not a Redis without AUTH.
        for environment in [[:], ["TEST_REDIS_PASSWORD": ""]] {
            let report = ConfigurationCheck.run(file: path, environment: environment)
            #expect(report.lines.first == "\(path):7: fleet.password_env: the environment variable TEST_REDIS_PASSWORD is not set or empty (it should hold the Redis password)")
        }
    }

    @Test("[fleet] TLS: a CA file relative to the configuration, a server name; errors without tls = true")
    func tlsSettings() throws {
        let (directory, path) = try write("""
            [fleet]
            redis = "10.0.0.5:6380"
            tls = true
            tls_ca = "redis-ca.pem"
            tls_server_name = "redis.internal"
            """)
        defer { directory.remove() }
        _ = try directory.write("redis-ca.pem", "not parsed by levee check")
        let fleet = try #require(try ProxyConfiguration.load(file: path, environment: [:]).filter.fleet)
        #expect(fleet.tls && fleet.tlsCA == directory.path + "/redis-ca.pem" && fleet.tlsServerName == "redis.internal")
        let client = fleet.clientConfiguration
        #expect(client.tls != nil && client.tlsServerName == "redis.internal")
        #expect("\(client)".hasPrefix("rediss 10.0.0.5:6380"))

        try expectRefused("""
            [fleet]
            redis = "127.0.0.1:6379"
            tls_ca = "missing.pem"
            tls_server_name = "x"
            """) { path in [
            "\(path):7: fleet.tls_ca: needs tls = true",
            "\(path):8: fleet.tls_server_name: needs tls = true",
            "\(path): 2 errors",
        ] }
    }

    @Test("bad [fleet] credentials are refused with the field and line")
    func badCredentials() throws {
        try expectRefused("""
            [fleet]
            redis = "127.0.0.1:6379"
            password = "a"
            password_env = "B"
            username = "has space"
            database = -1
            """) { path in [
            "\(path):8: fleet.password_env: give either password or password_env, not both",
            "\(path):9: fleet.username: must be a Redis ACL user name (not empty, no spaces or control characters)",
            "\(path):10: fleet.database: must be a Redis database number, 0 or more",
            "\(path): 3 errors",
        ] }
        try expectRefused("""
            [fleet]
            redis = "127.0.0.1:6379"
            username = "levee"
            """) { path in
            ["\(path):7: fleet.username: needs password or password_env (AUTH takes both)", "\(path): 1 error"]
        }
        try expectRefused("""
            [fleet]
            redis = "127.0.0.1:6379"
            password = ""
            """) { path in
            ["\(path):7: fleet.password: must not be empty (leave it out for a Redis without AUTH)", "\(path): 1 error"]
        }
    }

    @Test("[fleet] needs the Redis address")
    func fleetNeedsRedis() throws {
        let (report, path) = try check("""
            [fleet]
            lease = 4
            """)
        #expect(report.lines.first == "\(path):5: fleet.redis: missing: the Redis server as host:port (e.g. \"127.0.0.1:6379\")")
    }

    @Test("bad global rule fields: scope, lease against burst and cost, fail mode, fail_limit, delay, lease on a local rule")
    func badRules() throws {
        try expectRefused("""
            [fleet]
            redis = "127.0.0.1:6379"

            [[rule]]
            name = "a"
            limit = "10/s burst 20"
            scope = "everywhere"

            [[rule]]
            name = "b"
            limit = "10/s burst 20"
            scope = "global"
            lease = 30
            fail = "sometimes"

            [[rule]]
            name = "c"
            limit = "10/s burst 20"
            cost = 4
            scope = "global"
            lease = 2
            fail = "closed"
            fail_limit = "1/s burst 2"

            [[rule]]
            name = "d"
            limit = "10/s burst 20"
            scope = "global"
            action = "delay"

            [[rule]]
            name = "e"
            limit = "10/s burst 20"
            lease = 2

            [[rule]]
            name = "f"
            scope = "global"
            action = "block"
            """) { path in [
            "\(path):11: rule[0].scope: \"everywhere\" is not one of local, global",
            "\(path):17: rule[1].lease: 30 is more than the burst 20",
            "\(path):18: rule[1].fail: \"sometimes\" is not one of open, closed",
            "\(path):25: rule[2].lease: 2 is less than the cost 4: no request could ever pass",
            "\(path):27: rule[2].fail_limit: only for fail = \"open\"",
            "\(path):33: rule[3].action: delay cannot be used with scope = \"global\" (a delay needs the bucket's schedule, which lives in Redis); use reject",
            "\(path):38: rule[4].lease: only for scope = \"global\"",
            "\(path):42: rule[5].scope: scope = \"global\" needs a limit (an access rule has no quota to share)",
            "\(path): 8 errors",
        ] }
    }

    @Test("the shipped fleet example passes levee check")
    func example() throws {
        let report = ConfigurationCheck.run(file: repositoryRoot + "/config/examples/fleet.toml", environment: [:])
        #expect(report.ok, "\(report.lines.joined(separator: "\n"))")
    }
}
