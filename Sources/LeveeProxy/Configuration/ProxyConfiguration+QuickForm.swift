import Levee

extension ProxyConfiguration {
    /// The configuration of `levee serve --listen ADDR --upstream URL [--admin ADDR] [--workers N]
    /// [--limit "10/s burst 20"] [--h2c]`: one route `/` to one pool named `upstream` holding every
    /// `--upstream`, defaults elsewhere; `limit` adds one per-address rule answered with 429; `h2c`
    /// lets the listeners take cleartext HTTP/2 too. Errors name the flag (`--upstream[0]`) instead
    /// of a line.
    public static func quickForm(
        listen: [String], upstreams: [String], admin: String?, workers: Int?, limit: String? = nil,
        h2c: Bool = false, environment: [String: String] = [:]
    ) throws(ConfigurationErrors) -> ProxyConfiguration {
        let source = "command line"
        var errors: [ConfigurationError] = []
        func fail(_ field: String, _ message: String) {
            errors.append(ConfigurationError(file: source, line: nil, field: field, message: message))
        }

        var configuration = ProxyConfiguration(listeners: [], routes: [])
        for (i, text) in (listen.isEmpty ? ["127.0.0.1:8080"] : listen).enumerated() {
            if let (host, port) = ConfigurationUnits.parseHostPort(text) {
                configuration.listeners.append(ListenerConfiguration(host: host, port: port, h2c: h2c))
            } else {
                fail("--listen[\(i)]", "invalid address \"\(text)\" (expected host:port, e.g. 127.0.0.1:8080)")
            }
        }
        var backends: [BackendAddress] = []
        if upstreams.isEmpty { fail("--upstream", "missing: give the service to protect, e.g. --upstream http://127.0.0.1:9000") }
        for (i, text) in upstreams.enumerated() {
            switch parseBackend(text) {
            case .success(let address): backends.append(address)
            case .failure(let reason): fail("--upstream[\(i)]", reason.message)
            }
        }
        configuration.upstreams["upstream"] = UpstreamPoolConfiguration(name: "upstream", backends: backends)
        configuration.routes = [RouteConfiguration(name: "default", upstream: "upstream")]

        let token = environment[adminTokenEnvironmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let admin {
            if let (host, port) = ConfigurationUnits.parseHostPort(admin) {
                configuration.admin = AdminConfiguration(host: host, port: port, token: token)
            } else {
                fail("--admin", "invalid address \"\(admin)\" (expected host:port, e.g. 127.0.0.1:9901)")
            }
        } else {
            configuration.admin = nil
        }
        if let workers {
            if (1...1024).contains(workers) { configuration.workers = workers } else { fail("--workers", "must be 1...1024") }
        }
        if let limit {
            do {
                configuration.filter = .quick(limit: try Quota(parsing: limit))
            } catch {
                fail("--limit", "\(error) (e.g. --limit \"10/s burst 20\")")
            }
        }
        if errors.isEmpty {
            for problem in configuration.validationProblems() {
                fail(problem.field, problem.message)
            }
        }
        if !errors.isEmpty { throw ConfigurationErrors(errors) }
        return configuration
    }
}
