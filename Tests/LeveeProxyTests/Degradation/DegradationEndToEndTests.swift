import Foundation
import LeveeTestSupport
import Synchronization
import Testing

@testable import LeveeProxy

/// The tiers in a running application over loopback: a backend that slows down with its load
/// drives the tier up, unknown clients are shed with 503 while a trusted client is served, and
/// the tier returns to normal after the hold once the load stops. Margins are generous (seconds):
/// every wait polls with a deadline.
@Suite("Degradation tiers end to end", .timeLimit(.minutes(2)))
struct DegradationEndToEndTests {
    static let token = AppLifecycleTests.token
    static let auth = ["Authorization": "Bearer \(token)"]
    /// Trusted by network (see the configuration below); unknown clients use 127.0.0.2 …
    static let trustedSource = "127.0.0.9"

    /// A backend whose answer takes 40 ms per request in progress: alone it answers in 40 ms,
    /// under 12 concurrent requests in about 480 ms.
    final class SlowUnderLoad: Sendable {
        let inProgress = Atomic<Int>(0)

        func handle() async -> TestResponse {
            let concurrent = inProgress.wrappingAdd(1, ordering: .relaxed).newValue
            try? await Task.sleep(for: .milliseconds(40 * concurrent))
            inProgress.wrappingSubtract(1, ordering: .relaxed)
            return TestResponse(text: "ok")
        }
    }

    /// Latency average over 100 ms enters `elevated`, which admits only trusted, verified and known
    /// clients. Latency is the only signal, so the reason of the move is known; `hold` is long
    /// enough (5 s in the flood test) for the checks made while the tier is up, however slow the
    /// machine: once unknown clients are shed the backend is fast again, and the tier steps down
    /// after `hold` of calm.
    static func configuration(upstreamPort: Int, hold: String) -> String {
        AppLifecycleTests.configuration(upstreamPort: upstreamPort, extra: """

            [filter]
            trusted = ["\(trustedSource)/32"]

            [degradation]
            tick = "50ms"
            hold = "\(hold)"
            smoothing = "200ms"

            [degradation.tiers.elevated]
            when = { latency_avg = "100ms" }
            admit = ["trusted", "verified", "known"]
            respond = "503"
            retry_after = "7s"

            [degradation.tiers.under-attack.when]
            latency_avg = "30s"

            [degradation.tiers.survival.when]
            latency_avg = "60s"
            """)
    }

    static func withTieredApp(hold: String, _ body: (LeveeApplication) async throws -> Void) async throws {
        let slow = SlowUnderLoad()
        let backend = try await TestHTTPServer.start { _ in await slow.handle() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("levee.toml", configuration(upstreamPort: backend.port, hold: hold))
        do {
            try await AppLifecycleTests.withApplication(file: file, body)
        } catch {
            await backend.shutdown()
            throw error
        }
        await backend.shutdown()
    }

    static func tier(_ app: LeveeApplication) async throws -> [String: Any] {
        try AdminFilterTests.json(try await httpRequest(port: app.adminPort, path: "/admin/tier"))
    }

    static func waitForTier(_ app: LeveeApplication, _ expected: String, timeout: Duration = .seconds(20)) async -> Bool {
        await waitUntil(timeout: timeout) { ((try? await tier(app))?["tier"] as? String) == expected }
    }

    /// Sends requests from `sources` in a loop until `stop` is set or `deadline` passes (bounded
    /// either way), pausing 20 ms between requests of one source.
    static func flood(port: Int, sources: [String], stop: StopFlag, until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            for source in sources {
                group.addTask {
                    while !stop.value.load(ordering: .relaxed) && ContinuousClock.now < deadline {
                        _ = try? await SourceBoundClient.request(port: port, from: source, headers: [("Accept", "application/json")])
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                }
            }
        }
    }

    /// The value of the first sample of `name` whose labels include all of `labels`.
    static func metricValue(_ text: String, _ name: String, labels: [String] = []) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            guard labels.allSatisfy({ line.contains($0) }), let value = line.split(separator: " ").last else { continue }
            return Double(value)
        }
        return nil
    }

    final class StopFlag: Sendable { let value = Atomic<Bool>(false) }

    @Test("a slow backend under load raises the tier; unknown clients get 503 while a trusted one gets 200; the tier returns to normal after the hold")
    func slowBackendRaisesTheTierAndItComesBack() async throws {
        try await Self.withTieredApp(hold: "5s") { app in
            let port = app.proxyPort
            #expect(await Self.waitForTier(app, "normal"))
            // Before the load: an unknown client is served.
            #expect(try await SourceBoundClient.request(port: port, from: "127.0.0.40").status == 200)

            let stop = StopFlag()
            let sources = (2...13).map { "127.0.0.\($0)" }
            let load = Task { await Self.flood(port: port, sources: sources, stop: stop, until: .now + .seconds(60)) }
            defer { stop.value.store(true, ordering: .relaxed) }

            let raised = await Self.waitForTier(app, "elevated")
            let seen = (try? await Self.tier(app)) ?? [:]
            try #require(raised, "the tier never left normal: \(seen)")
            let status = try await Self.tier(app)
            let move = try #require(status["last_move"] as? [String: Any])
            #expect(move["to"] as? String == "elevated")
            #expect(move["kind"] as? String == "signal")
            #expect(move["signal"] as? String == "latency_avg")
            #expect((move["value"] as? Double ?? 0) >= 0.1)
            #expect(move["threshold"] as? Double == 0.1)
            #expect(status["pinned"] as? Bool == false)

            // While the flood lasts: unknown clients are shed with 503 and Retry-After (polled: on
            // a loaded machine the tier may already have stepped down and up again meanwhile).
            var shed: SourceBoundClient.Response?
            let shedSeen = await waitUntil(timeout: .seconds(20)) {
                guard let response = try? await SourceBoundClient.request(
                    port: port, from: "127.0.0.41", headers: [("Accept", "application/json")]) else { return false }
                if response.status == 503 { shed = response }
                return response.status == 503
            }
            #expect(shedSeen)
            #expect(shed?.value("Retry-After") == "7")
            #expect(shed?.body.contains("elevated") == true)
            // The trusted client is served whatever the tier.
            for _ in 0..<5 {
                #expect(try await SourceBoundClient.request(port: port, from: Self.trustedSource).status == 200)
            }

            let shedCounts = try #require((try await Self.tier(app))["shed"] as? [String: Int])
            #expect((shedCounts["unknown"] ?? 0) >= 1)
            #expect(shedCounts["trusted"] == 0)

            // /status carries the same section; /metrics the tier, the move and the sheds.
            let report = try AdminFilterTests.json(try await httpRequest(port: app.adminPort, path: "/status"))
            let section = try #require(report["degradation"] as? [String: Any])
            #expect(["normal", "elevated"].contains(section["tier"] as? String))
            #expect(section["signals"] is [String: Any])
            let metrics = try await httpRequest(port: app.adminPort, path: "/metrics").bodyString
            #expect([0, 1].contains(Self.metricValue(metrics, "levee_tier")))
            #expect(Self.metricValue(metrics, "levee_tier_transitions_total", labels: ["from=\"normal\"", "to=\"elevated\""]) ?? 0 >= 1)
            #expect(await waitUntil {
                let text = (try? await httpRequest(port: app.adminPort, path: "/metrics").bodyString) ?? ""
                return Self.metricValue(text, "levee_requests_shed_total", labels: ["class=\"unknown\"", "reason=\"tier\""]) ?? 0 > 0
            })

            // The load stops: after the hold the tier is normal again and unknown clients are served.
            stop.value.store(true, ordering: .relaxed)
            await load.value
            let calmed = await Self.waitForTier(app, "normal")
            let after = (try? await Self.tier(app)) ?? [:]
            #expect(calmed, "the tier stayed up: \(after)")
            let calm = try await Self.tier(app)
            #expect((calm["last_move"] as? [String: Any])?["kind"] as? String == "calm")
            #expect(try await SourceBoundClient.request(port: port, from: "127.0.0.42").status == 200)
        }
    }

    @Test("an operator pins and unpins a tier through the admin API (token required)")
    func pinAndUnpin() async throws {
        try await Self.withTieredApp(hold: "1s") { app in
            let admin = app.adminPort
            #expect(try await httpRequest(port: admin, method: "POST", path: "/admin/tier?pin=survival").statusCode == 401)
            let bad = try await httpRequest(port: admin, method: "POST", path: "/admin/tier?pin=panic", headers: Self.auth)
            #expect(bad.statusCode == 400)
            #expect(bad.bodyString.contains("under-attack"))
            #expect(try await httpRequest(port: admin, method: "POST", path: "/admin/tier", headers: Self.auth).statusCode == 400)

            let pinned = try AdminFilterTests.json(
                try await httpRequest(port: admin, method: "POST", path: "/admin/tier?pin=under-attack", headers: Self.auth))
            #expect(pinned["tier"] as? String == "under-attack")
            #expect(pinned["pinned"] as? Bool == true)
            #expect((pinned["last_move"] as? [String: Any])?["kind"] as? String == "pinned")
            // Under-attack's default policy admits trusted, verified and known: unknown is shed.
            #expect(try await SourceBoundClient.request(port: app.proxyPort, from: "127.0.0.50").status == 503)
            #expect(try await SourceBoundClient.request(port: app.proxyPort, from: Self.trustedSource).status == 200)
            // Calm signals do not move a pinned tier (hold is 1 s: wait well past it).
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await Self.tier(app)["tier"] as? String == "under-attack")

            let unpinned = try AdminFilterTests.json(
                try await httpRequest(port: admin, method: "POST", path: "/admin/tier?unpin", headers: Self.auth))
            #expect(unpinned["pinned"] as? Bool == false)
            // Calm: it steps down one tier per hold, to normal.
            #expect(await Self.waitForTier(app, "normal"))
            #expect(try await SourceBoundClient.request(port: app.proxyPort, from: "127.0.0.50").status == 200)
        }
    }
}
