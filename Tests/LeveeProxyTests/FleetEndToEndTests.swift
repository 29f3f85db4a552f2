import Foundation
import Levee
import LeveeRedis
import LeveeRESP
import NIOPosix
import LeveeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Two `levee serve` processes sharing global quotas through one real `redis-server` on
/// loopback: together they admit no more than the quota plus the documented bound, where two
/// local rules would each have admitted the whole burst; Redis killed mid-run → each rule's fail
/// mode; Redis back → global limiting again, without restarting either instance.
@Suite("Fleet end to end: two levee processes, one redis-server")
struct FleetEndToEndTests {
    static let burst = 20
    static let lease = 4
    static let credit = 1
    static let failOpenBurst = 3

    /// One `levee serve` child process.
    final class Instance: Sendable {
        let process: Process
        let proxyPort: Int
        let adminPort: Int
        let log: String

        init(process: Process, proxyPort: Int, adminPort: Int, log: String) {
            self.process = process
            self.proxyPort = proxyPort
            self.adminPort = adminPort
            self.log = log
        }

        /// The end of its log, for failure messages.
        var logTail: String { String(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(3000)) }

        /// SIGKILL: a child of the test process may inherit blocked signals, and nothing is left to drain.
        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    /// One event loop, the proxy and admin ports, one route to `upstream`, no bans (every request
    /// comes from 127.0.0.1: count, never ban).
    static func serverTables(proxyPort: Int, adminPort: Int, upstream: Int) -> String {
        """
        [server]
        workers = 1
        [[listen]]
        address = "127.0.0.1:\(proxyPort)"
        [admin]
        address = "127.0.0.1:\(adminPort)"
        [[route]]
        upstream = "app"
        [upstream.app]
        backends = ["127.0.0.1:\(upstream)"]
        [filter.ban]
        enabled = false

        """
    }

    static func configuration(proxyPort: Int, adminPort: Int, upstream: Int, redis: Int) -> String {
        serverTables(proxyPort: proxyPort, adminPort: adminPort, upstream: upstream) + """

        [fleet]
        redis = "127.0.0.1:\(redis)"
        key_prefix = "levee-e2e:"
        connect_timeout = "5s"
        command_timeout = "5s"          # a loaded test machine is slow, not down
        fail_retry = "50ms"

        [[rule]]
        name = "shared"
        match = { path_prefix = "/shared/" }
        key = "header:x-client"
        limit = "1/min burst \(burst)"
        scope = "global"
        lease = \(lease)
        credit = \(credit)
        fail = "closed"

        [[rule]]
        name = "shared-open"
        match = { path_prefix = "/open/" }
        key = "header:x-client"
        limit = "1/min burst \(burst)"
        scope = "global"
        lease = \(lease)
        credit = \(credit)
        fail = "open"
        fail_limit = "1/min burst \(failOpenBurst)"

        [[rule]]
        name = "alone"
        match = { path_prefix = "/alone/" }
        key = "header:x-client"
        limit = "1/min burst \(burst)"
        """
    }

    static func launch(directory: TemporaryDirectory, name: String, upstream: Int, redis: Int) async throws -> Instance {
        try await launch(directory: directory, name: name) { proxyPort, adminPort in
            configuration(proxyPort: proxyPort, adminPort: adminPort, upstream: upstream, redis: redis)
        }
    }

    /// Starts `levee serve` with the file `configuration` makes for its two ports, `environment`
    /// added to this process's; returns once its admin port answers `/healthz`.
    static func launch(
        directory: TemporaryDirectory, name: String, environment: [String: String] = [:],
        configuration: (_ proxyPort: Int, _ adminPort: Int) -> String
    ) async throws -> Instance {
        let proxyPort = try await AppSignalTests.freePort()
        let adminPort = try await AppSignalTests.freePort()
        let file = try directory.write("\(name).toml", configuration(proxyPort, adminPort))
        let log = directory.path + "/\(name).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AppSignalTests.binary)
        process.arguments = ["serve", "--config", file, "--log-level", "notice"]
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        let instance = Instance(process: process, proxyPort: proxyPort, adminPort: adminPort, log: log)
        let up = await waitUntil(timeout: .seconds(60)) {
            (try? await httpRequest(port: adminPort, path: "/healthz").statusCode) == 200
        }
        if !up { instance.stop() }
        try #require(up, "levee \(name) did not start:\n\(instance.logTail)")
        return instance
    }

    /// Statuses of `count` requests to `path` as client `client`, sent one after another.
    static func send(_ instance: Instance, _ path: String, client: String, count: Int) async throws -> [RawHTTPResponse] {
        var responses: [RawHTTPResponse] = []
        for _ in 0..<count {
            responses.append(try await httpRequest(port: instance.proxyPort, path: path, headers: ["X-Client": client]))
        }
        return responses
    }

    /// Both instances at once, `count` requests each; the admitted count of each.
    static func flood(_ instances: [Instance], _ path: String, client: String, count: Int) async throws -> [Int] {
        try await withThrowingTaskGroup(of: (Int, [RawHTTPResponse]).self) { group in
            for (index, instance) in instances.enumerated() {
                group.addTask { (index, try await send(instance, path, client: client, count: count)) }
            }
            var admitted = Array(repeating: 0, count: instances.count)
            for try await (index, responses) in group {
                for response in responses {
                    #expect(response.statusCode == 200 || response.statusCode == 429, "unexpected \(response.statusCode)")
                    if response.statusCode == 429 { #expect(response.value("retry-after") != nil) }
                }
                admitted[index] = responses.count { $0.statusCode == 200 }
            }
            return admitted
        }
    }

    /// `levee_fleet_redis_up{rule="…"}` from the instance's `/metrics` (nil if absent).
    static func redisUp(_ instance: Instance, rule: String) async -> Int? {
        guard let text = try? await httpRequest(port: instance.adminPort, path: "/metrics").bodyString else { return nil }
        let prefix = "levee_fleet_redis_up{rule=\"\(rule)\"} "
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
        return Int(line.dropFirst(prefix.count))
    }

    /// Sends one request at a time to `path` until the rule's Redis gauge reads `up`; returns the responses.
    static func probe(_ instance: Instance, _ path: String, client: String, rule: String, until up: Int) async throws -> [RawHTTPResponse] {
        var responses: [RawHTTPResponse] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            responses += try await send(instance, path, client: client, count: 1)
            if await redisUp(instance, rule: rule) == up { return responses }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("levee_fleet_redis_up{rule=\"\(rule)\"} never became \(up):\n\(instance.logTail)")
        return responses
    }

    @Test("two instances stay within quota + I × (lease + credit); Redis killed → fail modes; Redis back → recovery")
    func twoProcessesShareAQuota() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: AppSignalTests.binary), "build the levee executable first (swift build)")
        var redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let upstream = try await TestHTTPServer.start { _ in TestResponse(text: "ok") }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try await Self.launch(directory: directory, name: "first", upstream: upstream.port, redis: redis.port)
        defer { first.stop() }
        let second = try await Self.launch(directory: directory, name: "second", upstream: upstream.port, redis: redis.port)
        defer { second.stop() }
        let instances = [first, second]
        let rule = FleetRule(name: "shared", quota: try Quota(parsing: "1/min burst \(Self.burst)"),
                             leaseSize: Self.lease, initialCredit: Self.credit)

        // Each instance alone (a local rule): each admits the whole burst.
        let alone = try await Self.flood(instances, "/alone/", client: "k1", count: 30)
        for admitted in alone { #expect((Self.burst...Self.burst + 1).contains(admitted), "local rule admitted \(admitted)") }

        // Shared: the two together stay within the documented bound, well under what two local rules admit.
        var started = ContinuousClock.now
        var shared = try await Self.flood(instances, "/shared/", client: "k1", count: 30)
        var bound = rule.admissionBound(instances: 2, window: ContinuousClock.now - started)
        #expect(shared.reduce(0, +) <= bound, "admitted \(shared) > bound \(bound)")
        #expect(shared.reduce(0, +) < alone.reduce(0, +))
        #expect(shared.reduce(0, +) >= Self.burst - 2 * Self.lease, "admitted \(shared): leases were lost")
        for admitted in shared { #expect(admitted >= Self.credit) }

        // Redis killed in the middle of the run.
        redis.stop()
        // fail = "closed": a new client gets its initial credit at most, then 429 while Redis is down.
        var closedAdmitted = 0
        for instance in instances {
            let probed = try await Self.probe(instance, "/shared/", client: "outage", rule: "shared", until: 0)
            closedAdmitted += probed.count { $0.statusCode == 200 }
            let during = try await Self.send(instance, "/shared/", client: "outage", count: 10)
            #expect(during.allSatisfy { $0.statusCode == 429 && $0.value("retry-after") != nil })
        }
        #expect(closedAdmitted <= 2 * Self.credit)
        // fail = "open": each instance limits on its own with fail_limit (after the new client's credit).
        for instance in instances {
            let probed = try await Self.probe(instance, "/open/", client: "outage", rule: "shared-open", until: 0)
            let during = try await Self.send(instance, "/open/", client: "outage", count: 10)
            let admitted = (probed + during).count { $0.statusCode == 200 }
            #expect(admitted == Self.credit + Self.failOpenBurst, "fail-open admitted \(admitted)")
        }

        // Redis back on the same port (empty: it forgot buckets and scripts): both instances recover alone.
        redis = try await RedisServerProcess.start(port: redis.port)
        for instance in instances {
            _ = try await Self.probe(instance, "/shared/", client: "probe", rule: "shared", until: 1)
        }
        started = ContinuousClock.now
        shared = try await Self.flood(instances, "/shared/", client: "k2", count: 30)
        bound = rule.admissionBound(instances: 2, window: ContinuousClock.now - started)
        #expect(shared.reduce(0, +) <= bound, "after recovery admitted \(shared) > bound \(bound)")
        #expect(shared.reduce(0, +) >= Self.burst - 2 * Self.lease, "after recovery admitted \(shared)")
        #expect(shared.reduce(0, +) < 60, "nothing was limited after recovery")
        await upstream.shutdown()
    }
}

/// `[fleet] password_env`, `database`: a `levee serve` process against a redis-server with
/// `--requirepass` keeps its global rule's buckets in the chosen database; with a wrong password
/// it says why in its log and the rule's fail mode answers.
@Suite("Fleet end to end: a password-protected redis-server")
struct FleetAuthEndToEndTests {
    static let password = "fleet-e2e-secret"
    static let burst = 6

    static func launch(
        directory: TemporaryDirectory, name: String, upstream: Int, redis: Int, password: String, tlsCA: String? = nil
    ) async throws -> FleetEndToEndTests.Instance {
        try await FleetEndToEndTests.launch(directory: directory, name: name, environment: ["LEVEE_TEST_REDIS_PASSWORD": password]) {
            FleetEndToEndTests.serverTables(proxyPort: $0, adminPort: $1, upstream: upstream) + """
                [fleet]
                redis = "127.0.0.1:\(redis)"
                \(tlsCA.map { "tls = true\ntls_ca = \"\($0)\"\ntls_server_name = \"redis.test\"" } ?? "")
                password_env = "LEVEE_TEST_REDIS_PASSWORD"
                database = 2
                key_prefix = "levee-auth:"
                connect_timeout = "5s"
                command_timeout = "5s"
                lease = 1
                credit = 0
                [[rule]]
                name = "shared"
                key = "header:x-client"
                limit = "1/min burst \(burst)"
                scope = "global"
                fail = "closed"
                """
        }
    }

    @Test("the right password: limited through Redis, buckets in database 2; a wrong one: fail closed and the reason logged")
    func passwordProtectedRedis() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: AppSignalTests.binary), "build the levee executable first (swift build)")
        let redis = try await RedisServerProcess.start(arguments: ["--requirepass", Self.password])
        defer { redis.stop() }
        let upstream = try await TestHTTPServer.start { _ in TestResponse(text: "ok") }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }

        let good = try await Self.launch(directory: directory, name: "good", upstream: upstream.port, redis: redis.port, password: Self.password)
        defer { good.stop() }
        // Sequential requests of a new key: the first waits for its lease (credit 0) and is
        // denied; Redis then hands out the burst one token at a time, and no more.
        let responses = try await FleetEndToEndTests.send(good, "/", client: "c1", count: Self.burst + 8)
        let admitted = responses.count { $0.statusCode == 200 }
        #expect((Self.burst - 1...Self.burst + 1).contains(admitted), "\(responses.map(\.statusCode))\n\(good.logTail)")
        #expect(responses.suffix(3).allSatisfy { $0.statusCode == 429 }, "\(responses.map(\.statusCode))")
        let inspector = RESPClient(
            configuration: RESPClientConfiguration(port: redis.port, password: Self.password, database: 2),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        defer { _ = inspector.close() }
        guard case .array(let keys?) = try await inspector.send(["KEYS", "levee-auth:*"]) else {
            Issue.record("KEYS did not answer an array")
            return
        }
        #expect(!keys.isEmpty, "no bucket in database 2")

        let bad = try await Self.launch(directory: directory, name: "bad", upstream: upstream.port, redis: redis.port, password: "not-the-password-42")
        defer { bad.stop() }
        let refused = try await FleetEndToEndTests.send(bad, "/", client: "c2", count: 3)
        #expect(refused.allSatisfy { $0.statusCode == 429 && $0.value("retry-after") != nil }, "\(refused.map(\.statusCode))")
        let logged = await waitUntil(timeout: .seconds(10)) { bad.logTail.contains("redis refused AUTH: WRONGPASS") }
        #expect(logged, "\(bad.logTail)")
        #expect(!bad.logTail.contains("not-the-password-42"), "the password must not be logged")
        await upstream.shutdown()
    }

    @Test("TLS to Redis: limited through a TLS-only redis-server with AUTH")
    func tlsRedis() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: AppSignalTests.binary), "build the levee executable first (swift build)")
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("redis.test")
        let redis = try await RedisServerProcess.start(arguments: ["--requirepass", Self.password], tls: pair)
        defer { redis.stop() }
        let upstream = try await TestHTTPServer.start { _ in TestResponse(text: "ok") }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let instance = try await Self.launch(
            directory: directory, name: "tls", upstream: upstream.port, redis: redis.port, password: Self.password,
            tlsCA: pair.certificatePath)
        defer { instance.stop() }
        let responses = try await FleetEndToEndTests.send(instance, "/", client: "c1", count: Self.burst + 8)
        let admitted = responses.count { $0.statusCode == 200 }
        #expect((Self.burst - 1...Self.burst + 1).contains(admitted), "\(responses.map(\.statusCode))\n\(instance.logTail)")
        #expect(responses.suffix(3).allSatisfy { $0.statusCode == 429 })
        await upstream.shutdown()
    }
}
