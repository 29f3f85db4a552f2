import ArgumentParser
import Foundation
import LeveeProxy
import Logging
import Metrics
import Prometheus

/// `levee serve`: runs the proxy from a configuration file, or from a few flags (quick form).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the reverse proxy.",
        discussion: """
            From a file:   levee serve --config config/levee.toml
            Quick form:    levee serve --listen 127.0.0.1:8080 --upstream http://127.0.0.1:9000 [--admin 127.0.0.1:9901] [--workers N] [--limit "10/s burst 20"]

            SIGTERM/SIGINT drain in-flight requests (up to shutdown_grace) and exit; SIGHUP reloads the file.
            The admin token comes from [admin] token or the LEVEE_ADMIN_TOKEN environment variable.
            """)

    @Option(name: .shortAndLong, help: "The configuration file (see docs/configuration.md).")
    var config: String?

    @Option(help: "Quick form: address to listen on (repeatable). Default 127.0.0.1:8080.")
    var listen: [String] = []

    @Option(help: "Quick form: the service to protect, http://host:port (repeatable: one pool, round-robin).")
    var upstream: [String] = []

    @Option(help: "Quick form: admin listener address (metrics, status), e.g. 127.0.0.1:9901. Off by default.")
    var admin: String?

    @Option(help: "Quick form: event loops (threads). Default: one per core.")
    var workers: Int?

    @Option(help: "Quick form: a per-address limit answered with 429, e.g. \"10/s burst 20\".")
    var limit: String?

    @Flag(help: "Quick form: the listeners also take cleartext HTTP/2 with prior knowledge (h2c).")
    var h2c = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        let quick = !listen.isEmpty || !upstream.isEmpty || admin != nil || workers != nil || limit != nil
        if config != nil && quick {
            throw ValidationError("use either --config FILE or the quick-form flags (--listen, --upstream, --admin, --workers, --limit), not both")
        }
        if config == nil && upstream.isEmpty {
            throw ValidationError("give --config FILE, or --upstream URL for the quick form")
        }
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
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var logger = Logger(label: "levee")
        logger.logLevel = level

        let application: LeveeApplication
        do {
            let source: ConfigurationSource
            if let config {
                source = .file(config)
            } else {
                source = .commandLine(try ProxyConfiguration.quickForm(
                    listen: listen, upstreams: upstream, admin: admin, workers: workers, limit: limit, h2c: h2c,
                    environment: ProcessInfo.processInfo.environment))
            }
            application = try LeveeApplication(source: source, registry: registry, logger: logger)
        } catch {
            for error in error.errors {
                // Flags have no file and line: `error: --listen[0]: invalid address ...`.
                let text = error.line == nil && error.file == "command line" ? "error: \(error.field): \(error.message)" : "\(error)"
                FileHandle.standardError.write(Data((text + "\n").utf8))
            }
            throw ExitCode(1)
        }
        try await application.run()
    }
}
