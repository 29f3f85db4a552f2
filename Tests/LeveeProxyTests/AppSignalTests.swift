import Foundation
import LeveeTestSupport
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The built `levee` binary as a child process, driven by real signals: SIGHUP reloads, SIGTERM
/// drains. (`swift build --build-tests` and `swift test` build the executable next to the tests.)
@Suite("levee serve as a process: SIGHUP reload and SIGTERM drain")
struct AppSignalTests {
    static let binary: String = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments.first ?? "")
        let candidates = [
            repositoryRoot + "/.build/debug/levee",
            bundle.deletingLastPathComponent().appendingPathComponent("levee").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }()

    /// A port that was free a moment ago (the child process must be told its ports).
    static func freePort() async throws -> Int {
        let probe = try await TestHTTPServer.start()
        let port = probe.port
        await probe.shutdown()
        return port
    }

    @Test("SIGHUP applies an edited file; SIGTERM lets an in-flight request finish, refuses new connections and exits 0")
    func signals() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary), "build the levee executable first (swift build)")
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else { return }

        let (arrivals, arrived) = AsyncStream.makeStream(of: Void.self)
        let release = Gate()
        let first = try await TestHTTPServer.start { request in
            guard request.head.uri == "/slow" else { return TestResponse(text: "first") }
            arrived.yield()
            await release.wait()
            return TestResponse(text: "slow done")
        }
        let second = try await TestHTTPServer.start { request in
            guard request.head.uri == "/slow" else { return TestResponse(text: "second") }
            arrived.yield()
            await release.wait()
            return TestResponse(text: "slow done")
        }
        let proxyPort = try await Self.freePort()
        let adminPort = try await Self.freePort()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        func configuration(_ upstream: Int) -> String {
            """
            [server]
            workers = 1
            shutdown_grace = "10s"
            [[listen]]
            address = "127.0.0.1:\(proxyPort)"
            [admin]
            address = "127.0.0.1:\(adminPort)"
            [[route]]
            upstream = "app"
            [upstream.app]
            backends = ["127.0.0.1:\(upstream)"]
            """
        }
        let file = try directory.write("levee.toml", configuration(first.port))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--config", file, "--log-level", "warning"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let up = await waitUntil(timeout: .seconds(30)) {
            (try? await httpRequest(port: adminPort, path: "/healthz").statusCode) == 200
        }
        try #require(up, "levee did not start")
        #expect(try await httpRequest(port: proxyPort, path: "/").bodyString == "first")

        // SIGHUP: the edited file is applied.
        _ = try directory.write("levee.toml", configuration(second.port))
        kill(process.processIdentifier, SIGHUP)
        let switched = await waitUntil { (try? await httpRequest(port: proxyPort, path: "/").bodyString) == "second" }
        #expect(switched)

        // SIGTERM with a request in flight.
        let inFlight = Task { try await httpRequest(port: proxyPort, path: "/slow") }
        var iterator = arrivals.makeAsyncIterator()
        _ = await iterator.next()
        kill(process.processIdentifier, SIGTERM)
        let refused = await waitUntil {
            do {
                _ = try await httpRequest(port: proxyPort, path: "/new")
                return false
            } catch {
                return true
            }
        }
        #expect(refused)
        release.open()
        let response = try await inFlight.value
        #expect(response.statusCode == 200 && response.bodyString == "slow done")
        let exited = await waitUntil { !process.isRunning }
        #expect(exited)
        if exited {
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        }
        await first.shutdown()
        await second.shutdown()
    }
}
