import Foundation
import LeveeTestSupport
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import LeveeProxy

/// End-to-end over loopback: a `LeveeApplication` built from a file, a test backend behind it,
/// and its admin listener.
@Suite("Application: metrics, status, reload, drain, demo backend")
struct AppLifecycleTests {
    static let token = "app-test-token-0123456789"

    static func configuration(upstreamPort: Int, route: String = "web", extra: String = "") -> String {
        """
        [server]
        workers = 1
        shutdown_grace = "10s"

        [[listen]]
        address = "127.0.0.1:0"

        [admin]
        address = "127.0.0.1:0"
        token = "\(token)"

        [[route]]
        name = "\(route)"
        path_prefix = "/"
        upstream = "app"

        [upstream.app]
        backends = ["127.0.0.1:\(upstreamPort)"]
        \(extra)
        """
    }

    /// Builds, starts and runs an application; `body` gets it; afterwards it is shut down.
    static func withApplication(
        file: String, _ body: (LeveeApplication) async throws -> Void
    ) async throws {
        let application = try makeTestApplication(file: file)
        try await application.start()
        let running = Task { try await application.run() }
        do {
            try await body(application)
        } catch {
            await application.triggerGracefulShutdown()
            try? await running.value
            throw error
        }
        await application.triggerGracefulShutdown()
        try await running.value
    }

    @Test("/metrics counts a proxied request by route and status; /status decodes; /healthz answers")
    func metricsAndStatus() async throws {
        let backend = try await TestHTTPServer.start { _ in TestResponse(text: "from backend") }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let route = "metrics-route"
        let file = try directory.write("levee.toml", Self.configuration(upstreamPort: backend.port, route: route))

        try await Self.withApplication(file: file) { app in
            let proxied = try await httpRequest(port: app.proxyPort, path: "/hello")
            #expect(proxied.statusCode == 200 && proxied.bodyString == "from backend")

            let metrics = try await httpRequest(port: app.adminPort, path: "/metrics")
            #expect(metrics.statusCode == 200)
            #expect(metrics.value("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(metrics.bodyString.contains("levee_requests_total{route=\"\(route)\",status=\"200\"} 1"))

            let health = try await httpRequest(port: app.adminPort, path: "/healthz")
            #expect(health.statusCode == 200 && health.bodyString == "ok\n")

            let status = try await httpRequest(port: app.adminPort, path: "/status")
            #expect(status.statusCode == 200)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(status.bodyString.utf8)) as? [String: Any])
            #expect(object["config_file"] as? String == file)
            #expect(object["listeners"] as? [String] == ["127.0.0.1:\(app.proxyPort)"])
            #expect(object["version"] as? String != nil)
            #expect((object["uptime_seconds"] as? Double ?? -1) >= 0)
            let proxy = try #require(object["proxy"] as? [String: Any])
            #expect(proxy["completedRequests"] as? Int == 1)
        }
        await backend.shutdown()
    }

    @Test("reload: a good file switches upstream; a bad one keeps the old configuration and says why; 401 without token")
    func reload() async throws {
        let first = try await TestHTTPServer.start { _ in TestResponse(text: "first") }
        let second = try await TestHTTPServer.start { _ in TestResponse(text: "second") }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("levee.toml", Self.configuration(upstreamPort: first.port))
        let authorization = ["Authorization": "Bearer \(Self.token)"]

        try await Self.withApplication(file: file) { app in
            #expect(try await httpRequest(port: app.proxyPort, path: "/").bodyString == "first")

            // No token: refused, nothing changes.
            _ = try directory.write("levee.toml", Self.configuration(upstreamPort: second.port))
            let unauthorized = try await httpRequest(port: app.adminPort, method: "POST", path: "/admin/reload")
            #expect(unauthorized.statusCode == 401)
            #expect(try await httpRequest(port: app.proxyPort, path: "/").bodyString == "first")

            // A good file: applied.
            let applied = try await httpRequest(port: app.adminPort, method: "POST", path: "/admin/reload", headers: authorization)
            #expect(applied.statusCode == 200)
            #expect(applied.bodyString.contains("\"result\" : \"applied\""))
            #expect(try await httpRequest(port: app.proxyPort, path: "/").bodyString == "second")

            // A bad file: 422 with every error, old configuration still serving.
            _ = try directory.write(
                "levee.toml",
                Self.configuration(upstreamPort: first.port).replacingOccurrences(of: "upstream = \"app\"", with: "upstream = \"nowhere\"")
                    + "\n[limits]\nmax_body = \"huge\"\n")
            let rejected = try await httpRequest(port: app.adminPort, method: "POST", path: "/admin/reload", headers: authorization)
            #expect(rejected.statusCode == 422)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(rejected.bodyString.utf8)) as? [String: Any])
            #expect(document["result"] as? String == "rejected")
            let errors = try #require(document["errors"] as? [[String: Any]])
            #expect(errors.map { $0["field"] as? String } == ["route[0].upstream", "limits.max_body"])
            #expect(errors.first?["line"] as? Int == 15)
            #expect(try await httpRequest(port: app.proxyPort, path: "/").bodyString == "second")
            #expect(app.configuration.upstreams["app"]?.backends.first?.port == second.port)

            // Listener changes are refused with a clear message.
            _ = try directory.write(
                "levee.toml",
                Self.configuration(upstreamPort: first.port).replacingOccurrences(of: "workers = 1", with: "workers = 2"))
            let outcome = app.reload()
            guard case .rejected(let fixed) = outcome else {
                Issue.record("expected a refusal, got \(outcome)")
                return
            }
            #expect(fixed.map(\.field) == ["server.workers"])
            #expect(fixed.first?.line == 2)
            #expect(fixed.first?.message.contains("restart levee") == true)
            #expect(try await httpRequest(port: app.proxyPort, path: "/").bodyString == "second")

            let status = try await httpRequest(port: app.adminPort, path: "/status")
            #expect(status.bodyString.contains("\"applied\" : 1"))
            #expect(status.bodyString.contains("\"rejected\" : 2"))
        }
        await first.shutdown()
        await second.shutdown()
    }

    @Test("graceful shutdown: an in-flight slow request completes while new connections are refused")
    func drain() async throws {
        // The backend holds `/slow` until the test releases it; probes are answered at once.
        let (arrivals, arrived) = AsyncStream.makeStream(of: Void.self)
        let release = Gate()
        let backend = try await TestHTTPServer.start { request in
            guard request.head.uri == "/slow" else { return TestResponse(text: "probe") }
            arrived.yield()
            await release.wait()
            return TestResponse(text: "finished after shutdown began")
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("levee.toml", Self.configuration(upstreamPort: backend.port))
        let application = try makeTestApplication(file: file)
        try await application.start()
        let port = application.proxyPort
        let running = Task { try await application.run() }

        let inFlight = Task { try await httpRequest(port: port, path: "/slow") }
        var iterator = arrivals.makeAsyncIterator()
        _ = await iterator.next()  // the request reached the backend

        await application.triggerGracefulShutdown()
        let refused = await waitUntil {
            do {
                _ = try await httpRequest(port: port, path: "/new")
                return false
            } catch {
                return true
            }
        }
        #expect(refused, "new connections are still accepted after shutdown began")
        #expect(!inFlight.isCancelled)

        release.open()
        let response = try await inFlight.value
        #expect(response.statusCode == 200)
        #expect(response.bodyString == "finished after shutdown began")
        try await running.value
        await backend.shutdown()
    }

    @Test("a file with rules runs the flood filter; a reload builds a new one that keeps the bans")
    func filterAcrossReload() async throws {
        let backend = try await TestHTTPServer.start { _ in TestResponse(text: "ok") }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let rule = { (limit: String) in
            "\n[[rule]]\nname = \"per-ip\"\nkey = \"ip\"\nlimit = \"\(limit)\"\naction = \"reject\"\n"
        }
        let file = try directory.write("levee.toml", Self.configuration(upstreamPort: backend.port, extra: rule("1/min burst 1")))
        try await Self.withApplication(file: file) { app in
            let before = try #require(app.filter as? FloodFilter)
            #expect(try await httpRequest(port: app.proxyPort, path: "/").statusCode == 200)
            #expect(try await httpRequest(port: app.proxyPort, path: "/").statusCode == 429)

            _ = try directory.write("levee.toml", Self.configuration(upstreamPort: backend.port, extra: rule("100/s burst 100")))
            #expect(app.reload().isApplied)
            let after = try #require(app.filter as? FloodFilter)
            #expect(after !== before)
            #expect(after.bans === before.bans)
            #expect(after.configuration.rules.first?.quota != before.configuration.rules.first?.quota)
            #expect(try await httpRequest(port: app.proxyPort, path: "/").statusCode == 200)
        }
        await backend.shutdown()
    }

    @Test("the demo backend answers through the proxy")
    func demoBackend() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // The demo needs a fixed port for the upstream to name: take a free one first.
        let probe = try await TestHTTPServer.start()
        let demoPort = probe.port
        await probe.shutdown()
        let file = try directory.write(
            "levee.toml",
            Self.configuration(upstreamPort: demoPort, extra: "\n[demo]\naddress = \"127.0.0.1:\(demoPort)\"\n"))

        try await Self.withApplication(file: file) { app in
            let hello = try await httpRequest(port: app.proxyPort, path: "/api/hello")
            #expect(hello.statusCode == 200 && hello.value("content-type") == "application/json")
            #expect(hello.bodyString.contains("hello"))
            let index = try await httpRequest(port: app.proxyPort, path: "/")
            #expect(index.bodyString.contains("<html"))
            let bytes = try await httpRequest(port: app.proxyPort, path: "/bytes/200000")
            #expect(bytes.bodyLength == 200_000)
            let echo = try await httpRequest(port: app.proxyPort, method: "POST", path: "/echo", body: "echo me ✓")
            #expect(echo.bodyString == "echo me ✓")
            let teapot = try await httpRequest(port: app.proxyPort, path: "/status/418")
            #expect(teapot.statusCode == 418)
            let slow = try await httpRequest(port: app.proxyPort, path: "/slow?ms=30")
            #expect(slow.bodyString == "slept 30 ms\n")
            #expect(try await httpRequest(port: app.proxyPort, path: "/missing").statusCode == 404)
        }
    }
}

/// A one-shot gate: `wait()` suspends until `open()` (also when `open()` came first).
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
