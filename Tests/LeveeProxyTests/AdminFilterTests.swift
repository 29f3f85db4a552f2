import Foundation
import LeveeTestSupport
import Testing

@testable import LeveeProxy

/// The flood filter through the admin listener, end to end over loopback: top talkers, bans,
/// `/status` and `/metrics`, before and after a reload.
@Suite("Admin API: the flood filter's top talkers, bans, status and metrics")
struct AdminFilterTests {
    static let token = AppLifecycleTests.token
    static let auth = ["Authorization": "Bearer \(token)"]

    static func rule(_ limit: String) -> String {
        "\n[[rule]]\nname = \"per-ip\"\nkey = \"ip\"\nlimit = \"\(limit)\"\naction = \"reject\"\n"
    }

    static func json(_ response: RawHTTPResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.bodyString.utf8)) as? [String: Any])
    }

    /// Runs `body` with an application whose one rule is `limit` per address, in front of a backend.
    static func withFilteredApp(
        limit: String, _ body: (LeveeApplication, TemporaryDirectory, Int) async throws -> Void
    ) async throws {
        let backend = try await TestHTTPServer.start { _ in TestResponse(text: "ok") }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("levee.toml", AppLifecycleTests.configuration(upstreamPort: backend.port, extra: rule(limit)))
        do {
            try await AppLifecycleTests.withApplication(file: file) { app in try await body(app, directory, backend.port) }
        } catch {
            await backend.shutdown()
            throw error
        }
        await backend.shutdown()
    }

    @Test("after a flood, GET /admin/top names the flooder, /status has a filter section and /metrics the counters")
    func topTalkersStatusAndMetrics() async throws {
        try await Self.withFilteredApp(limit: "1/min burst 5") { app, _, _ in
            var statuses: [Int] = []
            for _ in 0..<30 { statuses.append(try await httpRequest(port: app.proxyPort, path: "/").statusCode) }
            #expect(statuses.filter { $0 == 200 }.count == 5)
            // Past the burst: 429, and 403 once the repeated offences earned a ban.
            let limited = statuses.filter { $0 == 429 }.count
            #expect(limited >= 1 && statuses.allSatisfy { [200, 429, 403].contains($0) })

            let top = try await httpRequest(port: app.adminPort, path: "/admin/top?limit=5")
            #expect(top.statusCode == 200)
            let talkers = try #require(try Self.json(top)["top_talkers"] as? [[String: Any]])
            let first = try #require(talkers.first)
            #expect(first["client"] as? String == "127.0.0.1")
            #expect((first["requests"] as? Int ?? 0) >= 30)
            #expect(try await httpRequest(port: app.adminPort, path: "/admin/top?limit=zero").statusCode == 400)

            let status = try Self.json(try await httpRequest(port: app.adminPort, path: "/status"))
            let section = try #require(status["filter"] as? [String: Any])
            #expect(section["requests"] as? Int == 30)
            let rules = try #require(section["rules"] as? [String: [String: Int]])
            // The request that earns the ban is counted limited too (and answered 403).
            let limitedCount = try #require(rules["per-ip"]?["limited"])
            #expect(rules["per-ip"]?["allowed"] == 5 && limitedCount >= limited && limitedCount <= 25)
            let classes = try #require(section["classes"] as? [String: Int])
            #expect(classes.values.reduce(0, +) == 30)
            #expect((section["top_talkers"] as? [[String: Any]])?.first?["client"] as? String == "127.0.0.1")

            let metrics = try await httpRequest(port: app.adminPort, path: "/metrics")
            #expect(metrics.statusCode == 200)
            let text = metrics.bodyString
            #expect(text.contains("# TYPE levee_filter_requests_total counter"))
            #expect(text.contains("levee_filter_requests_total{rule=\"per-ip\",outcome=\"limited\"} \(limitedCount)\n"))
            #expect(text.contains("levee_filter_requests_total{rule=\"per-ip\",outcome=\"allowed\"} 5\n"))
            #expect(text.contains("levee_filter_evaluated_total 30\n"))
            let classTotal = text.split(separator: "\n")
                .filter { $0.hasPrefix("levee_filter_class_total{") }
                .compactMap { Int($0.split(separator: " ").last ?? "") }
                .reduce(0, +)
            #expect(classTotal == 30)
            // The registry's own families are still there (the filter's are appended, not substituted).
            #expect(text.contains("levee_config_reloads_total"))
        }
    }

    @Test("bans: add, list and remove need the token; a banned client gets 403 and is served again after removal")
    func banLifecycle() async throws {
        try await Self.withFilteredApp(limit: "1000/s burst 1000") { app, _, _ in
            let port = app.adminPort
            #expect(try await httpRequest(port: app.proxyPort, path: "/").statusCode == 200)

            let order = #"{"address": "127.0.0.1", "duration": "10m", "reason": "test"}"#
            let anonymous = try await httpRequest(port: port, method: "POST", path: "/admin/bans", body: order)
            #expect(anonymous.statusCode == 401)
            let wrong = try await httpRequest(port: port, method: "POST", path: "/admin/bans", headers: ["Authorization": "Bearer nope"], body: order)
            #expect(wrong.statusCode == 401)
            #expect(try await httpRequest(port: app.proxyPort, path: "/").statusCode == 200)

            let bad = try await httpRequest(port: port, method: "POST", path: "/admin/bans", headers: Self.auth,
                                            body: #"{"address": "127.0.0.999", "duration": "10m"}"#)
            #expect(bad.statusCode == 400 && bad.bodyString.contains("127.0.0.999"))
            let badDuration = try await httpRequest(port: port, method: "POST", path: "/admin/bans", headers: Self.auth,
                                                    body: #"{"address": "127.0.0.1", "duration": "soon"}"#)
            #expect(badDuration.statusCode == 400 && badDuration.bodyString.contains("soon"))
            let notJSON = try await httpRequest(port: port, method: "POST", path: "/admin/bans", headers: Self.auth, body: "ban them")
            #expect(notJSON.statusCode == 400)

            let added = try await httpRequest(port: port, method: "POST", path: "/admin/bans", headers: Self.auth, body: order)
            #expect(added.statusCode == 201)
            let ban = try Self.json(added)
            #expect(ban["network"] as? String == "127.0.0.1/32")
            #expect((ban["remaining_seconds"] as? Int).map { $0 > 590 && $0 <= 600 } == true)
            // A network through query parameters as well.
            let network = try await httpRequest(port: port, method: "POST", path: "/admin/bans?address=10.9.0.0/16&duration=90", headers: Self.auth)
            #expect(network.statusCode == 201)

            let list = try Self.json(try await httpRequest(port: port, path: "/admin/bans"))
            let networks = (list["bans"] as? [[String: Any]] ?? []).compactMap { $0["network"] as? String }
            #expect(Set(networks) == ["127.0.0.1/32", "10.9.0.0/16"])

            let refused = try await httpRequest(port: app.proxyPort, path: "/")
            #expect(refused.statusCode == 403)
            #expect(refused.value("retry-after").flatMap(Int.init).map { $0 > 0 } == true)

            #expect(try await httpRequest(port: port, method: "DELETE", path: "/admin/bans/127.0.0.1").statusCode == 401)
            #expect(try await httpRequest(port: app.proxyPort, path: "/").statusCode == 403)
            let removed = try await httpRequest(port: port, method: "DELETE", path: "/admin/bans/127.0.0.1", headers: Self.auth)
            #expect(removed.statusCode == 200)
            #expect(try await httpRequest(port: app.proxyPort, path: "/").statusCode == 200)
            let again = try await httpRequest(port: port, method: "DELETE", path: "/admin/bans/127.0.0.1", headers: Self.auth)
            #expect(again.statusCode == 404)
            let encoded = try await httpRequest(port: port, method: "DELETE", path: "/admin/bans/10.9.0.0%2F16", headers: Self.auth)
            #expect(encoded.statusCode == 200)
            #expect(try await httpRequest(port: port, method: "DELETE", path: "/admin/bans/nonsense", headers: Self.auth).statusCode == 400)
            let empty = try Self.json(try await httpRequest(port: port, path: "/admin/bans"))
            #expect((empty["bans"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("after a reload the endpoints read the new filter, and bans added before still hold")
    func acrossReload() async throws {
        try await Self.withFilteredApp(limit: "1/min burst 3") { app, directory, backendPort in
            for _ in 0..<6 { _ = try await httpRequest(port: app.proxyPort, path: "/") }
            let added = try await httpRequest(port: app.adminPort, method: "POST", path: "/admin/bans", headers: Self.auth,
                                              body: #"{"address": "127.0.0.0/8", "duration": "1h"}"#)
            #expect(added.statusCode == 201)

            _ = try directory.write("levee.toml", AppLifecycleTests.configuration(upstreamPort: backendPort, extra: Self.rule("100/s burst 100")))
            let reload = try await httpRequest(port: app.adminPort, method: "POST", path: "/admin/reload", headers: Self.auth)
            #expect(reload.statusCode == 200)

            let bans = try Self.json(try await httpRequest(port: app.adminPort, path: "/admin/bans"))
            #expect((bans["bans"] as? [[String: Any]])?.first?["network"] as? String == "127.0.0.0/8")
            #expect(try await httpRequest(port: app.proxyPort, path: "/").statusCode == 403)
            let removed = try await httpRequest(port: app.adminPort, method: "DELETE", path: "/admin/bans/127.0.0.0/8", headers: Self.auth)
            #expect(removed.statusCode == 200)
            for _ in 0..<2 { #expect(try await httpRequest(port: app.proxyPort, path: "/").statusCode == 200) }

            // The new filter's counters: 3 requests since the reload (one refused while banned), none limited.
            let talkers = try #require(try Self.json(try await httpRequest(port: app.adminPort, path: "/admin/top"))["top_talkers"] as? [[String: Any]])
            #expect(talkers.first?["requests"] as? Int == 3)
            let metrics = try await httpRequest(port: app.adminPort, path: "/metrics")
            #expect(metrics.bodyString.contains("levee_filter_requests_total{rule=\"per-ip\",outcome=\"limited\"} 0\n"))
            #expect(metrics.bodyString.contains("levee_filter_refused_while_banned_total 1\n"))
        }
    }

    @Test("without any rule the filter endpoints say the filter is off, and /metrics has no filter family")
    func filterOff() async throws {
        let backend = try await TestHTTPServer.start { _ in TestResponse(text: "ok") }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("levee.toml", AppLifecycleTests.configuration(upstreamPort: backend.port))
        try await AppLifecycleTests.withApplication(file: file) { app in
            let top = try await httpRequest(port: app.adminPort, path: "/admin/top")
            #expect(top.statusCode == 404 && top.bodyString.contains("filter is off"))
            let status = try Self.json(try await httpRequest(port: app.adminPort, path: "/status"))
            #expect((status["filter"] as? [String: Any])?["enabled"] as? Bool == false)
            #expect(!(try await httpRequest(port: app.adminPort, path: "/metrics")).bodyString.contains("levee_filter_"))
        }
        await backend.shutdown()
    }
}
