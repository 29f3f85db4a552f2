import Foundation
import Levee
import LeveeTestSupport
import Testing

@testable import LeveeProxy

/// Where the Debian `chromium` package puts the browser (`make test` installs it).
private let chromiumPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// A real browser against the challenge: headless Chromium loads a challenged page, runs the
/// proof of work in JavaScript (WebCrypto), follows the verification redirect with the cookie
/// and ends on the backend's page.
@Suite(.timeLimit(.minutes(2)), .enabled(if: chromiumPath != nil, "needs the Debian package chromium"))
struct FilterBrowserTests {
    @Test func headlessChromiumPassesTheChallengeAndReachesTheBackend() async throws {
        var configuration = FilterConfiguration(rules: [
            FilterRule(name: "gate", match: RuleMatch(classes: [.unknown, .suspicious]), quota: nil, action: .challenge(fallback: .reject))
        ])
        configuration.challenge.difficulty = 12
        let filter = FloodFilter(configuration: configuration)
        try await withProxy(backend: { _ in TestResponse(text: "backend-reached-4711") }, filter: filter) { proxy, _ in
            let dom = try await Self.dumpDOM(url: "http://127.0.0.1:\(proxy.port)/private/page?x=1")
            #expect(dom.contains("backend-reached-4711"), "final DOM: \(dom.prefix(400))")
            #expect(filter.statistics().challengesPassed == 1)
            #expect(filter.statistics().rule("gate")?[.challenged] == 1)
            // A plain HTTP client without JavaScript only ever sees the challenge page.
            let plain = try await proxy.get("/private/page", headers: "Accept: text/html\r\n")
            #expect(plain.statusCode == 403 && !plain.bodyString.contains("backend-reached"))
        }
    }

    /// Runs headless Chromium on `url` with a virtual-time budget (scripts and navigations run to
    /// completion without wall-clock waiting) and returns the final DOM. Killed after 90 s.
    static func dumpDOM(url: String) async throws -> String {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("levee-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromiumPath!)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(profile.path)", "--virtual-time-budget=30000", "--dump-dom", url,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let watchdog = Task {
            try await Task.sleep(for: .seconds(90))
            kill(pid, SIGKILL)  // only the browser this test started
        }
        let data = await Task.detached { output.fileHandleForReading.readDataToEndOfFile() }.value
        process.waitUntilExit()
        watchdog.cancel()
        return String(decoding: data, as: UTF8.self)
    }
}
