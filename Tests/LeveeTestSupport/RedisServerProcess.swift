import Foundation
import NIOCore
import NIOPosix

/// A real `redis-server` on a loopback port for tests: no persistence, in a temporary directory,
/// stopped (and its directory removed) by ``stop()``.
///
/// Tests that need Redis must fail, not skip, when it is missing: ``start(port:)`` throws
/// ``RedisServerProcess/Failure`` with a message saying that `make test` installs it.
public final class RedisServerProcess: Sendable {
    /// Where Debian installs the server.
    public static let executablePath = "/usr/bin/redis-server"

    /// The loopback port it listens on.
    public let port: Int
    /// The server's temporary working directory.
    public let directory: URL
    private let process: Process

    /// Why a server could not be started.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong, for the test report.
        public let description: String
    }

    private init(port: Int, directory: URL, process: Process) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// Starts `redis-server` on `port` (nil: a free loopback port) and returns once it accepts
    /// connections (polled with a deadline).
    /// `arguments` are added to the server's command line (e.g. `["--requirepass", "secret"]`).
    /// `tls`: serve TLS only, with this certificate and key, on the port (clients not authenticated).
    public static func start(
        port: Int? = nil, arguments: [String] = [], tls: TestCertificates.Pair? = nil, readyWithin: Duration = .seconds(10)
    ) async throws -> RedisServerProcess {
        guard FileManager.default.isExecutableFile(atPath: executablePath) else {
            throw Failure(description: "\(executablePath) is missing: these tests need a real Redis server. "
                + "`make test` installs it (Debian package redis-server); or run `apt-get install -y redis-server`.")
        }
        let chosen: Int
        if let port { chosen = port } else { chosen = try await freeLoopbackPort() }
        let port = chosen
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("levee-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executablePath)
        process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", directory.path, "--enable-debug-command", "local", "--logfile", directory.appendingPathComponent("redis.log").path] + arguments
            + (tls.map { ["--port", "0", "--tls-port", "\(port)", "--tls-cert-file", $0.certificatePath, "--tls-key-file", $0.keyPath,
                          "--tls-auth-clients", "no"] } ?? [])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let server = RedisServerProcess(port: port, directory: directory, process: process)
        let deadline = ContinuousClock.now + readyWithin
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                let log = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
                server.removeDirectory()
                throw Failure(description: "redis-server exited at start (port \(port)):\n\(log.suffix(2000))")
            }
            if await canConnect(port: port) { return server }
            try await Task.sleep(for: .milliseconds(20))
        }
        server.stop()
        throw Failure(description: "redis-server did not accept connections on port \(port) within \(readyWithin)")
    }

    /// Whether the process is still running.
    public var isRunning: Bool { process.isRunning }

    /// Kills the server at once (SIGKILL: no goodbye to clients), as a crash would.
    public func kill() {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            Foundation.kill(process.processIdentifier, SIGCONT)  // a paused process dies only once continued
        }
        process.waitUntilExit()
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing is answered, like a
    /// Redis stuck on a slow command or a swapping host.
    public func pause() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGSTOP) }
    }

    /// Lets a paused server run again (SIGCONT).
    public func resume() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGCONT) }
    }

    /// Stops the server and removes its directory. SIGKILL, because a child started from a
    /// test process inherits the event loops' blocked signal mask, so SIGTERM would never arrive
    /// (and a server without persistence has nothing to save).
    public func stop() {
        kill()
        removeDirectory()
    }

    private func removeDirectory() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A port that was free on 127.0.0.1 a moment ago (bound to port 0, read, released).
    public static func freeLoopbackPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    private static func canConnect(port: Int) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(200))
                .connect(host: "127.0.0.1", port: port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
