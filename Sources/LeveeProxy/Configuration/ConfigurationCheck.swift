import Foundation

/// What `levee check --config FILE` does, as a function the command and the tests share.
public enum ConfigurationCheck {
    /// The outcome: `ok` and the lines to print (one summary line, or one line per error).
    public struct Report: Sendable {
        public var ok: Bool
        public var lines: [String]
    }

    /// Loads and validates `file`: `ok: FILE (N routes, M upstreams)` or every error.
    public static func run(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Report {
        do {
            let configuration = try ProxyConfiguration.load(file: file, environment: environment)
            return Report(ok: true, lines: [summary(configuration, file: file)])
        } catch {
            let count = error.errors.count
            return Report(ok: false, lines: error.errors.map(\.description) + ["\(file): \(count) error\(count == 1 ? "" : "s")"])
        }
    }

    /// `ok: FILE (N routes, M upstreams)`.
    public static func summary(_ configuration: ProxyConfiguration, file: String) -> String {
        let routes = configuration.routes.count
        let upstreams = configuration.upstreams.count
        return "ok: \(file) (\(routes) route\(routes == 1 ? "" : "s"), \(upstreams) upstream\(upstreams == 1 ? "" : "s"))"
    }
}
