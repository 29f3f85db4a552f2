import Foundation
import LeveeTestSupport
import NIOCore
import Synchronization
import Testing
@testable import LeveeLoad

/// End-to-end runs against the loopback test backend. Serialized: each measures rates and latencies.
@Suite("LoadEngine end to end", .serialized)
struct EngineTests {
    func scenario(_ server: TestHTTPServer, seconds: Double, classes: [TrafficClass], thresholds: [String] = []) throws -> Scenario {
        Scenario(target: try LoadTarget(url: server.baseURL + "/"), duration: Int64(seconds * 1e9), threads: 2,
                 timeout: 3_000_000_000, classes: classes, thresholds: try thresholds.map { try Threshold($0) })
    }

    @Test func closedLoopCountsAddUp() async throws {
        let server = try await TestHTTPServer.start()
        var c = TrafficClass(name: "default")
        c.connections = 8
        c.maxRequests = 2000
        let report = try await LoadEngine(scenario: scenario(server, seconds: 10, classes: [c])).run()
        await server.shutdown()
        let t = report.total
        #expect(t.requests == 2000)
        #expect(t.requests == t.completed + t.errors.total)
        #expect(t.completed == server.requestCount)
        #expect(t.status["200"] == t.completed && t.status["2xx"] == t.completed)
        #expect(report.classes["default"]?.mode == "closed")
        #expect(t.timeline.map(\.completed).reduce(0, +) == t.completed)
    }

    @Test func refusedConnectionsAreCountedAsErrors() async throws {
        // A port that was just free: nothing listens there.
        let server = try await TestHTTPServer.start()
        let url = server.baseURL + "/"
        await server.shutdown()
        var c = TrafficClass(name: "default")
        c.rate = 200
        c.connections = 4
        let s = Scenario(target: try LoadTarget(url: url), duration: 500_000_000, threads: 1, classes: [c])
        let report = try await LoadEngine(scenario: s).run()
        #expect(report.total.requests > 50)
        #expect(report.total.completed == 0)
        #expect(report.total.errors.refused == report.total.requests)
    }

    @Test func newConnectionsToARefusingPortAreRefusedErrors() async throws {
        let server = try await TestHTTPServer.start()
        let url = server.baseURL + "/"
        await server.shutdown()
        var c = TrafficClass(name: "fresh")
        c.connections = 4
        c.newConnectionPerRequest = true
        let s = Scenario(target: try LoadTarget(url: url), duration: 300_000_000, threads: 2, classes: [c])
        let report = try await LoadEngine(scenario: s).run()
        #expect(report.total.requests > 4)
        #expect(report.total.errors.refused == report.total.requests && report.total.completed == 0)
        // One attempt per client every 10 ms at most: no spinning.
        #expect(report.total.requests <= 4 * 40)
    }

    @Test func progressCountsBothPaths() async throws {
        let server = try await TestHTTPServer.start()
        var keepAlive = TrafficClass(name: "keepalive")
        keepAlive.rate = 10
        keepAlive.connections = 1
        var fresh = TrafficClass(name: "fresh")
        fresh.rate = nil
        fresh.connections = 2
        fresh.newConnectionPerRequest = true
        fresh.maxRequests = 100
        let ticks = Mutex<[LoadEngine.Progress]>([])
        let report = try await LoadEngine(scenario: scenario(server, seconds: 4, classes: [keepAlive, fresh]))
            .run { p in ticks.withLock { $0.append(p) } }
        await server.shutdown()
        let seen = ticks.withLock { $0 }
        try #require(!seen.isEmpty)
        #expect(report.classes["fresh"]?.completed == 100)
        // Keep-alive alone sends 10/s (at most ~40 in four seconds): a tick over 100 sent means the
        // new-connection path (run on the epoll thread) is counted too.
        #expect(seen.map(\.sent).max()! >= 100, "ticks: \(seen.map(\.sent))")
        for (a, b) in zip(seen, seen.dropFirst()) { #expect(a.sent <= b.sent) }
        for t in seen {
            #expect(t.completed + t.errors <= t.sent && t.sent <= report.total.requests)
        }
    }

    @Test func openLoopAchievesTheRequestedRate() async throws {
        let server = try await TestHTTPServer.start()
        var c = TrafficClass(name: "steady")
        c.rate = 500
        c.connections = 10
        let report = try await LoadEngine(scenario: scenario(server, seconds: 2.5, classes: [c])).run()
        await server.shutdown()
        let steady = try #require(report.classes["steady"])
        #expect(steady.mode == "open")
        #expect(steady.requests == steady.completed + steady.errors.total)
        // Never more than the schedule's 1250 sends: a closed loop on this fast server would run
        // many times faster. The lower bound only says the schedule ran: on a starved machine the
        // sends still running late when the duration ends are cut (7% short at load average 20
        // here; CI machines may be slower still), so it is loose on purpose.
        #expect(steady.requestsPerSecond <= 500 * 1.05 && steady.requestsPerSecond >= 500 * 0.5,
                "achieved \(steady.requestsPerSecond)/s")
        #expect(steady.requests <= 1250 && steady.requests >= 625, "sent \(steady.requests)")
    }

    @Test func stallShowsInCorrectedLatencyNotInNaive() async throws {
        let seen = Atomic<Int>(0)
        let server = try await TestHTTPServer.start { _ in
            // The 300th request stalls its connection for one second, once.
            if seen.wrappingAdd(1, ordering: .relaxed).newValue == 300 { try? await Task.sleep(for: .seconds(1)) }
            return TestResponse(text: "ok")
        }
        var c = TrafficClass(name: "steady")
        c.rate = 500
        c.connections = 10
        let report = try await LoadEngine(scenario: scenario(server, seconds: 3, classes: [c])).run()
        await server.shutdown()
        let r = try #require(report.classes["steady"])
        #expect(r.requests == r.completed + r.errors.total && r.errors.total == 0)
        // About 50 requests queued behind the stall: well over 1% of 1500, so the corrected p99 sees it …
        #expect(r.latencyMs.p99 > 300, "corrected p99 \(r.latencyMs.p99) ms")
        // … while only one request really took a second to be served.
        // (Compared with the corrected figure rather than a fixed bound, so a loaded machine passes.)
        #expect(r.latencyNaiveMs.p99 * 2 < r.latencyMs.p99, "naive p99 \(r.latencyNaiveMs.p99) ms")
        #expect(r.latencyNaiveMs.max >= 900)
    }

    @Test func sourceAddressesAreSpread() async throws {
        let server = try await TestHTTPServer.start()
        var c = TrafficClass(name: "crowd")
        c.connections = 20
        c.maxRequests = 400
        c.source = try SourceAddressRange("127.0.5.1-127.0.5.20")
        let report = try await LoadEngine(scenario: scenario(server, seconds: 10, classes: [c])).run()
        await server.shutdown()
        #expect(report.total.completed == 400)
        #expect(server.distinctRemoteHosts == Set((1...20).map { "127.0.5.\($0)" }))
    }

    @Test func newConnectionPerRequestWalksTheSourceRange() async throws {
        let server = try await TestHTTPServer.start()
        var c = TrafficClass(name: "fresh")
        c.connections = 4
        c.maxRequests = 100
        c.newConnectionPerRequest = true
        c.source = try SourceAddressRange("127.0.6.1-127.0.6.50")
        let report = try await LoadEngine(scenario: scenario(server, seconds: 10, classes: [c])).run()
        await server.shutdown()
        #expect(report.total.completed == 100)
        #expect(server.connectionCount == 100)
        #expect(report.total.requestsPerSecond > 0 && report.total.elapsedS > 0)
        #expect(server.distinctRemoteHosts.count == 50)
    }

    @Test func forwardedForIdentityAnnouncesTheAddresses() async throws {
        let announced = Mutex<Set<String>>([])
        let server = try await TestHTTPServer.start { request in
            if let xff = request.head.headers.first(name: "x-forwarded-for") { announced.withLock { _ = $0.insert(xff) } }
            return TestResponse(text: "ok")
        }
        var c = TrafficClass(name: "behind-lb")
        c.connections = 5
        c.maxRequests = 50
        c.identity = .forwardedFor
        c.source = try SourceAddressRange("127.0.7.1-127.0.7.5")
        _ = try await LoadEngine(scenario: scenario(server, seconds: 10, classes: [c])).run()
        await server.shutdown()
        #expect(announced.withLock { $0 } == Set((1...5).map { "127.0.7.\($0)" }))
        #expect(server.distinctRemoteHosts == ["127.0.0.1"])
    }

    /// A backend that plays a filter: /attack gets 429 with Retry-After, legit gets 503 (a false positive).
    @Test func thresholdsJudgeTheFilterOutcome() async throws {
        let server = try await TestHTTPServer.start { request in
            if request.head.uri.hasPrefix("/attack") {
                return TestResponse(status: .tooManyRequests, headers: ["Retry-After": "1", "RateLimit-Policy": "5;w=1"], text: "no")
            }
            return TestResponse(status: .serviceUnavailable, text: "overloaded")
        }
        let s = try Scenario(toml: """
            target = "\(server.baseURL)/"
            duration = "1s"
            threads = 2
            thresholds = ["attack.served_rate < 0.01", "attack.false_negative_rate == 0", "legit.success_rate >= 0.999"]

            [[class]]
            name = "legit"
            rate = 100
            connections = 2
            expect = "served"

            [[class]]
            name = "attack"
            rate = 300
            connections = 6
            paths = ["/attack/a", "/attack/b"]
            expect = "blocked"
            """)
        let report = try await LoadEngine(scenario: s).run()
        await server.shutdown()
        #expect(!report.passed)
        #expect(report.thresholds.map(\.passed) == [true, true, false])
        let attack = try #require(report.classes["attack"])
        #expect(attack.filter.falseNegativeRate == 0)
        #expect(attack.filter.timeToMitigateS == 0)
        #expect(attack.filter.retryAfterSeen && attack.filter.rateLimitFieldsSeen)
        #expect(report.classes["legit"]?.filter.falsePositiveRate == 1)
        #expect(report.total.filter.falsePositiveRate == 1 && report.total.filter.falseNegativeRate == 0)
    }

    @Test func jsonHasTheDocumentedMembers() async throws {
        let server = try await TestHTTPServer.start()
        var c = TrafficClass(name: "default")
        c.connections = 2
        c.maxRequests = 100
        let report = try await LoadEngine(scenario: scenario(server, seconds: 5, classes: [c])).run()
        await server.shutdown()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.jsonString.utf8)) as? [String: Any])
        for scope in [object["total"], (object["classes"] as? [String: Any])?["default"]] {
            let t = try #require(scope as? [String: Any])
            #expect(t["requests"] as? Int == 100)
            #expect((t["requests_per_second"] as? Double ?? 0) > 0)
            #expect((t["status"] as? [String: Int])?["200"] == 100)
            let latency = try #require(t["latency_ms"] as? [String: Double])
            #expect(Set(latency.keys).isSuperset(of: ["p50", "p90", "p99", "p999", "max"]))
            #expect(latency["p50"]! <= latency["p99"]! && latency["p99"]! <= latency["max"]!)
            #expect(t["errors"] is [String: Int] && t["timeline"] is [Any])
            let filter = try #require(t["filter"] as? [String: Any])
            #expect(Set(filter.keys) == ["expect", "false_positive_rate", "false_negative_rate", "time_to_mitigate_s",
                                         "time_to_recover_s", "retry_after_seen", "rate_limit_fields_seen"])
        }
        // And it decodes back into the report type.
        let decoded = try JSONDecoder().decode(LoadReport.self, from: Data(report.jsonString.utf8))
        #expect(decoded.total.requests == 100 && decoded.classOrder == ["default"])
        #expect(report.html.contains("<svg") && !report.html.contains("http://www.w3.org/1999/xhtml\" src"))
    }

    @Test func slowlorisTricklesHeadersThenCompletes() async throws {
        let server = try await TestHTTPServer.start()
        var c = TrafficClass(name: "slow")
        c.connections = 2
        c.maxRequests = 2
        c.profile = .slowloris(interval: 50_000_000, hold: 300_000_000)
        let report = try await LoadEngine(scenario: scenario(server, seconds: 5, classes: [c])).run()
        await server.shutdown()
        let r = try #require(report.classes["slow"])
        #expect(r.completed == 2 && r.status["200"] == 2)
        #expect(r.latencyNaiveMs.p50 >= 290)
    }

    @Test func burstWavesOnlySendWhileOn() async throws {
        let server = try await TestHTTPServer.start()
        var c = TrafficClass(name: "waves")
        c.rate = 200
        c.connections = 4
        c.waveOn = 500_000_000
        c.waveOff = 500_000_000
        let report = try await LoadEngine(scenario: scenario(server, seconds: 2, classes: [c])).run()
        await server.shutdown()
        // On for half of the two seconds: at most about 200 requests instead of the 400 of a steady
        // run (10% slack for timer edges); at least half of that, however slow the machine.
        #expect(report.total.requests <= 220 && report.total.requests >= 100, "sent \(report.total.requests)")
    }
}

@Suite("Attack profiles end to end", .serialized)
struct AttackProfileTests {
    @Test func manyAndOversizedHeadersAndRandomPaths() async throws {
        let seen = Mutex<(paths: Set<String>, headerCounts: Set<Int>, bigSizes: Set<Int>)>(([], [], []))
        let server = try await TestHTTPServer.start { request in
            seen.withLock {
                $0.paths.insert(request.head.uri)
                $0.headerCounts.insert(request.head.headers.count)
                $0.bigSizes.insert(request.head.headers.first(name: "x-levee-big")?.utf8.count ?? 0)
            }
            return TestResponse(text: "ok")
        }
        var c = TrafficClass(name: "noisy")
        c.connections = 4
        c.maxRequests = 40
        c.randomPaths = true
        c.extraHeaderCount = 100
        c.oversizedHeaderBytes = 4000
        // Generous bounds: the run ends after its 40 requests; the bounds only matter on a starved machine.
        let s = Scenario(target: try LoadTarget(url: server.baseURL + "/"), duration: 30_000_000_000, threads: 1,
                         timeout: 20_000_000_000, classes: [c])
        let report = try await LoadEngine(scenario: s).run()
        await server.shutdown()
        #expect(report.total.completed == 40)
        let result = seen.withLock { $0 }
        #expect(result.paths.count == 40)  // every request to its own random path
        #expect(result.headerCounts == [102])  // Host, 100 padding headers, the big one
        #expect(result.bigSizes == [4000])
    }

    @Test func slowReaderTakesItsTime() async throws {
        let server = try await TestHTTPServer.start { _ in
            TestResponse(text: String(repeating: "x", count: 200_000))
        }
        var c = TrafficClass(name: "slowread")
        c.connections = 1
        c.maxRequests = 1
        c.profile = .slowRead(interval: 10_000_000, readSize: 16384)
        let s = Scenario(target: try LoadTarget(url: server.baseURL + "/"), duration: 10_000_000_000, threads: 1, classes: [c])
        let report = try await LoadEngine(scenario: s).run()
        await server.shutdown()
        let r = try #require(report.classes["slowread"])
        #expect(r.completed == 1 && r.bytesReceived == 200_000)
        // At most 16 KiB per 10 ms: the 200 kB body needs at least 12 reads, over 100 ms.
        #expect(r.latencyNaiveMs.max >= 100)
    }
}
