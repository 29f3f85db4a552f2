import Foundation
import NIOCore
import Testing

@testable import LeveeProxy

/// The repository root, found from this file's path (tests run from any directory).
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

private func errors(_ text: String) -> [ConfigurationError] {
    do {
        _ = try ProxyConfiguration.parse(text, file: "t.toml")
        return []
    } catch {
        return error.errors
    }
}

@Suite("Configuration from TOML")
struct ConfigurationTests {
    @Test("a complete file decodes every field")
    func completeFile() throws {
        let text = """
            [server]
            workers = 3
            shutdown_grace = "2s"

            [[listen]]
            address = "127.0.0.1:18080"
            proxy_protocol = true

            [[listen]]
            address = "[::1]:18081"

            [admin]
            address = "127.0.0.1:19901"
            token = "0123456789abcdef0123"

            [demo]
            address = "127.0.0.1:18082"

            [[route]]
            name = "api"
            host = "api.example.com"
            path_prefix = "/v1/"
            upstream = "api"
            host_rewrite = "internal"
            max_body = "1MiB"
            critical = true

            [upstream.api]
            backends = ["127.0.0.1:9000", "http://127.0.0.1:9001/"]
            balance = "least-in-flight"
            max_failures = 5
            ejection_time = "1m"
            retries = 2
            max_idle_per_loop = 8

            [limits]
            max_request_line = "4KiB"
            max_header_bytes = 16384
            max_headers = 50
            max_body = "2MB"
            header_timeout = "250ms"
            min_body_rate = "2KiB"
            max_connections_per_address = 10
            max_connections = 1000

            [timeouts]
            connect = "1s"
            response_header = "5s"
            idle = "30s"
            request = "1m30s"

            [forwarding]
            x_forwarded_for = "replace"
            x_forwarded_proto = false
            via = ""

            [access_log]
            path = "/tmp/levee-access.log"
            """
        let c = try ProxyConfiguration.parse(text, file: "full.toml")
        #expect(c.workers == 3)
        #expect(c.shutdownGracePeriod == .seconds(2))
        #expect(c.listeners == [
            ListenerConfiguration(host: "127.0.0.1", port: 18080, proxyProtocol: true),
            ListenerConfiguration(host: "::1", port: 18081),
        ])
        #expect(c.admin == AdminConfiguration(host: "127.0.0.1", port: 19901, token: "0123456789abcdef0123"))
        #expect(c.demoBackend == DemoBackendConfiguration(host: "127.0.0.1", port: 18082))
        #expect(c.routes == [RouteConfiguration(
            name: "api", host: "api.example.com", pathPrefix: "/v1/", upstream: "api", hostRewrite: "internal",
            maxBodyBytes: 1 << 20, critical: true)])
        let pool = try #require(c.upstreams["api"])
        #expect(pool.backends == [BackendAddress(host: "127.0.0.1", port: 9000), BackendAddress(host: "127.0.0.1", port: 9001)])
        #expect(pool.balance == .leastInFlight)
        #expect(pool.maxFailures == 5 && pool.ejectionTime == .seconds(60) && pool.maxRetries == 2 && pool.maxIdlePerLoop == 8)
        #expect(c.limits.maxRequestLineBytes == 4096 && c.limits.maxHeaderBytes == 16384 && c.limits.maxHeaderCount == 50)
        #expect(c.limits.maxBodyBytes == 2_000_000 && c.limits.headerTimeout == .milliseconds(250))
        #expect(c.limits.minBodyBytesPerSecond == 2048 && c.limits.maxConnectionsPerAddress == 10 && c.limits.maxConnections == 1000)
        #expect(c.timeouts.connect == .seconds(1) && c.timeouts.responseHeader == .seconds(5))
        #expect(c.timeouts.idle == .seconds(30) && c.timeouts.request == .seconds(90))
        #expect(c.forwarding.xForwardedFor == .replace && !c.forwarding.xForwardedProto && c.forwarding.via == nil)
        #expect(c.accessLog == AccessLogConfiguration(path: "/tmp/levee-access.log"))
    }

    @Test("a minimal file gets the documented defaults")
    func defaults() throws {
        let c = try ProxyConfiguration.parse(
            """
            [[route]]
            upstream = "app"
            [upstream.app]
            backends = ["127.0.0.1:9000"]
            """, file: "min.toml")
        #expect(c.listeners == [ListenerConfiguration(host: "127.0.0.1", port: 8080)])
        #expect(c.admin == AdminConfiguration())
        #expect(c.demoBackend == nil && c.accessLog == nil && c.workers == nil)
        #expect(c.routes.first?.name == "route0" && c.routes.first?.pathPrefix == "/")
        #expect(c.limits == LimitsConfiguration() && c.timeouts == TimeoutsConfiguration())
        #expect(c.upstreams["app"]?.balance == .roundRobin)
    }

    @Test("the admin token comes from the environment when the file has none")
    func tokenFromEnvironment() throws {
        let text = """
            [[route]]
            upstream = "app"
            [upstream.app]
            backends = ["127.0.0.1:9000"]
            """
        let c = try ProxyConfiguration.parse(text, file: "t.toml", environment: ["LEVEE_ADMIN_TOKEN": "from-the-environment"])
        #expect(c.admin?.token == "from-the-environment")
    }

    @Test("a route naming a missing upstream is reported at its line and field")
    func missingUpstream() {
        let found = errors(
            """
            [[route]]
            name = "web"
            upstream = "web"

            [[route]]
            name = "api"
            upstream = "api"

            [upstream.web]
            backends = ["127.0.0.1:9000"]
            """)
        #expect(found.map(\.description) == [#"t.toml:7: route[1].upstream: no upstream named "api" (defined: "web")"#])
    }

    @Test("an unknown key is an error with a suggestion, in nested tables too")
    func unknownKeys() {
        let found = errors(
            """
            [server]
            worker = 2

            [[route]]
            upstream = "app"
            path_prefx = "/"

            [upstream.app]
            backends = ["127.0.0.1:9000"]
            max_failure = 3

            [colour]
            red = 1
            """)
        #expect(found.map(\.line) == [2, 6, 10, 12])
        #expect(found.map(\.field) == ["server.worker", "route[0].path_prefx", "upstream.app.max_failure", "colour"])
        #expect(found[0].message.contains("did you mean \"workers\""))
        #expect(found[2].message.contains("did you mean \"max_failures\""))
    }

    @Test("bad durations, sizes, addresses and enums each name their line")
    func badValues() {
        let found = errors(
            """
            [[listen]]
            address = "localhost"

            [[route]]
            upstream = "app"
            max_body = "ten megs"

            [upstream.app]
            backends = [
              "127.0.0.1:9000",
              "https://secure:443/api",
            ]
            balance = "random"
            ejection_time = "10 parsecs"

            [timeouts]
            connect = 5
            idle = "0s"
            """)
        let placed = found.map { "\($0.line ?? 0) \($0.field)" }
        #expect(placed == [
            "2 listen[0].address",
            "6 route[0].max_body",
            "11 upstream.app.backends[1]",
            "13 upstream.app.balance",
            "14 upstream.app.ejection_time",
            "17 timeouts.connect",
            "18 timeouts.idle",
        ])
        #expect(found.count == 7)
        if found.count == 7 {
            #expect(found[4].message.contains("invalid duration \"10 parsecs\""))
            #expect(found[2].message.contains("without a path"))
        }
    }

    @Test("a syntax error surfaces TOMLKit's line")
    func syntaxError() {
        let found = errors(
            """
            [server]
            workers = 2
            shutdown_grace = = "1s"
            """)
        #expect(found.count == 1)
        #expect(found.first?.line == 3)
        #expect(found.first?.field == "syntax")
    }

    @Test("no route, an empty pool and a wrong type are all reported together")
    func everyErrorAtOnce() {
        let found = errors(
            """
            [server]
            workers = "two"

            [upstream.app]
            backends = []
            """)
        #expect(Set(found.map(\.field)) == ["server.workers", "upstream.app.backends", "route"])
    }

    @Test("durations and sizes")
    func units() {
        #expect(ConfigurationUnits.parseDuration("250ms") == .milliseconds(250))
        #expect(ConfigurationUnits.parseDuration("2s") == .seconds(2))
        #expect(ConfigurationUnits.parseDuration("1m30s") == .seconds(90))
        #expect(ConfigurationUnits.parseDuration("1.5h") == .minutes(90))
        #expect(ConfigurationUnits.parseDuration("10") == nil)
        #expect(ConfigurationUnits.parseDuration("s") == nil)
        #expect(ConfigurationUnits.parseDuration("3 weeks") == nil)
        #expect(ConfigurationUnits.parseByteSize("10MiB") == 10 << 20)
        #expect(ConfigurationUnits.parseByteSize("64 KiB") == 65536)
        #expect(ConfigurationUnits.parseByteSize("1kb") == 1000)
        #expect(ConfigurationUnits.parseByteSize("12") == 12)
        #expect(ConfigurationUnits.parseByteSize("12 apples") == nil)
        #expect(ConfigurationUnits.parseHostPort("[::1]:80")! == ("::1", 80))
        #expect(ConfigurationUnits.parseHostPort("::1:80") == nil)
        #expect(ConfigurationUnits.parseHostPort("h:99999") == nil)
    }

    @Test("the source map places tables, arrays of tables, dotted keys, inline tables and array elements")
    func sourceMap() {
        let map = TOMLSourceMap(text: """
            # comment with [brackets] and key = "value"
            title = "a # not a comment"
            text = '''
            [not.a.table]
            fake = 1
            '''
            [[route]]
            name = "a"
            [[route]]
            limits.max = 3
            inline = { x = 1, y = [1, 2] }
            [[route.match]]
            header = "h"
            [upstream."api"]
            backends = [
              "one",   # first
              "two",
            ]
            """)
        #expect(map.line(of: "title") == 2)
        #expect(map.line(of: "not.a.table") == nil)
        #expect(map.line(of: "fake") == nil)
        #expect(map.line(of: "route[0].name") == 8)
        #expect(map.line(of: "route[1]") == 9)
        #expect(map.line(of: "route[1].limits.max") == 10)
        #expect(map.line(of: "route[1].inline.y[1]") == 11)
        #expect(map.line(of: "route[1].match[0].header") == 13)
        #expect(map.line(of: "upstream.api.backends[1]") == 17)
        #expect(map.nearestLine(of: "upstream.api.balance") == 14)
    }
}

@Suite("levee check over the shipped configurations")
struct ConfigurationCheckTests {
    static let shippedFiles: [String] = {
        let examples = (try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/config/examples")) ?? []
        return ["config/levee.toml"] + examples.filter { $0.hasSuffix(".toml") }.sorted().map { "config/examples/\($0)" }
    }()

    @Test("there are examples to check")
    func examplesExist() {
        #expect(Self.shippedFiles.count >= 3)
    }

    @Test("every shipped file passes", arguments: shippedFiles)
    func shippedFilePasses(_ file: String) {
        let report = ConfigurationCheck.run(file: repositoryRoot + "/" + file, environment: [:])
        #expect(report.ok, "\(report.lines.joined(separator: "\n"))")
        #expect(report.lines.count == 1 && report.lines[0].hasPrefix("ok: "))
    }

    @Test("the default file runs the demo behind the proxy with the admin on loopback")
    func defaultFileShape() throws {
        let c = try ProxyConfiguration.load(file: repositoryRoot + "/config/levee.toml", environment: [:])
        #expect(c.listeners.map { "\($0.host):\($0.port)" } == ["127.0.0.1:8080"])
        #expect(c.demoBackend == DemoBackendConfiguration(host: "127.0.0.1", port: 8081))
        #expect(c.admin?.host == "127.0.0.1" && c.admin?.port == 9901)
        #expect(c.upstreams["demo"]?.backends == [BackendAddress(host: "127.0.0.1", port: 8081)])
    }

    @Test("a bad file lists every error and a count")
    func badFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("levee-check-\(UUID().uuidString).toml").path
        try """
            [[route]]
            upstream = "nowhere"
            [limits]
            max_body = "lots"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let report = ConfigurationCheck.run(file: path, environment: [:])
        #expect(!report.ok)
        #expect(report.lines == [
            "\(path):2: route[0].upstream: no upstream named \"nowhere\"",
            "\(path):4: limits.max_body: invalid size \"lots\" (use e.g. \"10MiB\", \"64KiB\" or a number of bytes)",
            "\(path): 2 errors",
        ])
    }

    @Test("a missing file is one clear error")
    func missingFile() {
        let report = ConfigurationCheck.run(file: "/nonexistent/levee.toml", environment: [:])
        #expect(!report.ok)
        #expect(report.lines.first?.hasPrefix("/nonexistent/levee.toml:?: file: cannot read") == true)
    }
}

@Suite("Quick form of levee serve")
struct ConfigurationQuickFormTests {
    @Test("flags build one route to one pool")
    func flags() throws {
        let c = try ProxyConfiguration.quickForm(
            listen: ["127.0.0.1:8080"], upstreams: ["http://127.0.0.1:9000", "127.0.0.1:9001"], admin: "127.0.0.1:9901",
            workers: 1, environment: ["LEVEE_ADMIN_TOKEN": "token-from-environment"])
        #expect(c.listeners == [ListenerConfiguration(host: "127.0.0.1", port: 8080)])
        #expect(c.routes == [RouteConfiguration(name: "default", upstream: "upstream")])
        #expect(c.upstreams["upstream"]?.backends.map(\.port) == [9000, 9001])
        #expect(c.admin == AdminConfiguration(host: "127.0.0.1", port: 9901, token: "token-from-environment"))
        #expect(c.workers == 1)
        let h2c = try ProxyConfiguration.quickForm(
            listen: ["127.0.0.1:8080", "127.0.0.1:8081"], upstreams: ["127.0.0.1:9000"], admin: nil, workers: nil, h2c: true)
        #expect(h2c.listeners.map(\.h2c) == [true, true])
    }

    @Test("--limit adds one per-address rule; a bad limit is named")
    func limitFlag() throws {
        let c = try ProxyConfiguration.quickForm(
            listen: [], upstreams: ["127.0.0.1:9000"], admin: nil, workers: nil, limit: "10/s burst 20")
        #expect(c.filter.rules.count == 1)
        #expect(c.filter.rules.first?.quota?.burst == 20)
        do {
            _ = try ProxyConfiguration.quickForm(listen: [], upstreams: ["127.0.0.1:9000"], admin: nil, workers: nil, limit: "lots")
            Issue.record("accepted a bad limit")
        } catch {
            #expect(error.errors.map(\.field) == ["--limit"])
        }
    }

    @Test("bad flags are all named")
    func badFlags() {
        do {
            _ = try ProxyConfiguration.quickForm(listen: ["nowhere"], upstreams: ["https://x:1/path", "ftp//"], admin: "x", workers: 0)
            Issue.record("accepted bad flags")
        } catch {
            #expect(error.errors.map(\.field) == ["--listen[0]", "--upstream[0]", "--upstream[1]", "--admin", "--workers"])
        }
    }
}

@Suite("Configuration: the flood filter's sections in the same file")
struct ConfigurationFilterSectionTests {
    static let base = """
        [[route]]
        upstream = "app"

        [upstream.app]
        backends = ["127.0.0.1:9000"]

        """

    @Test("[[rule]] is decoded into the filter configuration")
    func rulesDecoded() throws {
        let c = try ProxyConfiguration.parse(
            Self.base + """
                [[rule]]
                name = "per-ip"
                key = "ip"
                limit = "20/s burst 40"
                action = "reject"
                """, file: "f.toml")
        #expect(c.filter.rules.map(\.name) == ["per-ip"])
    }

    @Test("filter errors come with the file's line, next to the proxy's own errors")
    func filterErrorsPlaced() {
        let found = errors(
            Self.base + """
                [[rule]]
                name = "per-ip"
                key = "ip"
                limit = "twenty"
                action = "reject"

                [limits]
                max_headers = 0
                """)
        #expect(found.map { "\($0.line ?? 0) \($0.field)" } == ["9 rule[0].limit", "13 limits.max_headers"])
    }
}
