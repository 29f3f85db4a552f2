import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

extension DemoBackend {
    /// Runs the demo backend alone (`levee demo-backend`) on `threads` event loops until SIGTERM or
    /// SIGINT, then closes its listener. Used by benchmarks that put several proxies in front of
    /// one backend with a fixed capacity.
    public static func runStandalone(configuration: DemoBackendConfiguration, threads: Int?, logger: Logger) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads ?? System.coreCount))
        let backend = DemoBackend(configuration: configuration, group: group, logger: logger)
        do {
            try await backend.start()
            let services = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: [backend], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await services.run()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }
}
