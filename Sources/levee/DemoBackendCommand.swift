import ArgumentParser
import Foundation
import LeveeProxy
import Logging

/// `levee demo-backend`: the built-in demo backend on its own, optionally with a fixed capacity
/// (a saturating service for benchmarks: excess requests queue, then get 503).
struct DemoBackendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-backend",
        abstract: "Run the built-in demo backend alone, optionally with a fixed capacity.",
        discussion: """
            levee demo-backend --listen 127.0.0.1:8081
            levee demo-backend --listen 127.0.0.1:8081 --capacity 400 --service-time 5ms --max-queue 1s

            With --capacity C it completes at most C requests per second, each taking at least
            --service-time; excess requests queue (their latency grows) and a request that would
            queue longer than --max-queue is answered 503 with Retry-After at once.
            Endpoints: /, /api/hello, /bytes/N, /echo, /slow?ms=N, /status/N. SIGTERM/SIGINT stop it.
            """)

    @Option(help: "Address to listen on.")
    var listen: String = "127.0.0.1:8081"

    @Option(help: "Requests per second the backend completes (default: unlimited).")
    var capacity: Int?

    @Option(help: "With --capacity: the least time each request takes, e.g. 5ms.")
    var serviceTime: String = "0ms"

    @Option(help: "With --capacity: longest queueing delay before a request gets 503, e.g. 1s.")
    var maxQueue: String = "1s"

    @Option(help: "Event loops (threads). Default: one per core.")
    var threads: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard ConfigurationUnits.parseHostPort(listen) != nil else {
            throw ValidationError("--listen: invalid address \"\(listen)\" (e.g. 127.0.0.1:8081)")
        }
        if let capacity, capacity < 1 { throw ValidationError("--capacity must be at least 1") }
        guard ConfigurationUnits.parseDuration(serviceTime) != nil else {
            throw ValidationError("--service-time: invalid duration \"\(serviceTime)\" (e.g. 5ms)")
        }
        guard ConfigurationUnits.parseDuration(maxQueue) != nil else {
            throw ValidationError("--max-queue: invalid duration \"\(maxQueue)\" (e.g. 1s)")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "levee.demo")
        logger.logLevel = level
        // validate() checked all three.
        guard let (host, port) = ConfigurationUnits.parseHostPort(listen),
              let service = ConfigurationUnits.parseDuration(serviceTime),
              let queue = ConfigurationUnits.parseDuration(maxQueue)
        else { throw ExitCode(1) }
        let configuration = DemoBackendConfiguration(
            host: host, port: port, capacity: capacity, serviceTime: service, maxQueue: queue)
        try await DemoBackend.runStandalone(configuration: configuration, threads: threads, logger: logger)
    }
}
