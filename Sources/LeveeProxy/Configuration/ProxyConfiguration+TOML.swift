import Foundation
import NIOCore
import TOMLKit

extension ProxyConfiguration {
    /// Name of the environment variable that supplies the admin token when the file has none.
    public static let adminTokenEnvironmentVariable = "LEVEE_ADMIN_TOKEN"

    /// Reads, parses and validates a configuration file. Throws every problem found, each naming
    /// the file, the line and the field (`config/x.toml:12: route[0].upstream: no upstream named "api"`).
    public static func load(
        file path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationErrors) -> ProxyConfiguration {
        try loadWithSourceMap(file: path, environment: environment).configuration
    }

    /// `load(file:)`, also returning where each field is in the file (to place later errors,
    /// such as a reload that changes a listener).
    static func loadWithSourceMap(
        file path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationErrors) -> (configuration: ProxyConfiguration, sourceMap: TOMLSourceMap) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationErrors([
                ConfigurationError(file: path, line: nil, field: "file", message: "cannot read: \(Self.describe(error))")
            ])
        }
        return (try parse(text, file: path, environment: environment), TOMLSourceMap(text: text))
    }

    /// Parses and validates configuration text; `file` is only used in error messages.
    public static func parse(
        _ text: String, file: String, environment: [String: String] = [:]
    ) throws(ConfigurationErrors) -> ProxyConfiguration {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationErrors([
                ConfigurationError(
                    file: file, line: error.source.begin.line, field: "syntax",
                    message: "\(error.description) (column \(error.source.begin.column))")
            ])
        } catch {
            throw ConfigurationErrors([ConfigurationError(file: file, line: nil, field: "syntax", message: "\(error)")])
        }
        let diagnostics = ConfigurationDiagnostics(file: file, sourceMap: TOMLSourceMap(text: text))
        let configuration = decode(root: root, diagnostics: diagnostics, environment: environment)
        configuration.validate(diagnostics: diagnostics)
        if !diagnostics.errors.isEmpty { throw ConfigurationErrors(diagnostics.sortedErrors) }
        return configuration
    }

    private static func describe(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let underlying = cocoa.underlying as? POSIXError {
            return String(cString: strerror(underlying.code.rawValue))
        }
        return (error as NSError).localizedDescription
    }

    // MARK: - Decoding

    static func decode(root: TOMLTable, diagnostics: ConfigurationDiagnostics, environment: [String: String]) -> ProxyConfiguration {
        var reader = TOMLTableReader(table: root, path: "", diagnostics: diagnostics)
        var configuration = ProxyConfiguration(listeners: [], routes: [])

        if var server = reader.table("server") {
            configuration.workers = server.int("workers", in: 1...1024)
            if let grace = server.duration("shutdown_grace", positive: false) { configuration.shutdownGracePeriod = grace }
            server.finish()
        }

        if let listeners = reader.tableArray("listen") {
            if listeners.isEmpty { reader.report("listen", "no listener: add a [[listen]] table with an address") }
            for var listen in listeners {
                var tls: ListenerTLSConfiguration?
                var hasTLS = false
                if var tlsReader = listen.table("tls") {
                    hasTLS = true
                    tls = ListenerTLSConfiguration.decode(&tlsReader, baseDirectory: diagnostics.baseDirectory)
                    tlsReader.finish()
                }
                let h2c = listen.bool("h2c") ?? false
                if h2c && hasTLS {
                    listen.report("h2c", "h2c is HTTP/2 without TLS; a TLS listener offers HTTP/2 through ALPN ([listen.tls] http2)")
                }
                if let (host, port) = listen.hostPort("address") {
                    configuration.listeners.append(
                        ListenerConfiguration(
                            host: host, port: port, proxyProtocol: listen.bool("proxy_protocol") ?? false, tls: tls, h2c: h2c))
                } else {
                    _ = listen.bool("proxy_protocol")
                    if listen.table["address"] == nil { listen.report("address", "missing (e.g. address = \"127.0.0.1:8080\")") }
                }
                listen.finish()
            }
        } else {
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 8080)]
        }

        configuration.admin = decodeAdmin(&reader, environment: environment)

        if var demo = reader.table("demo") {
            if demo.bool("enabled") ?? true {
                var backend = DemoBackendConfiguration()
                if let (host, port) = demo.hostPort("address") { backend = DemoBackendConfiguration(host: host, port: port) }
                configuration.demoBackend = backend
            } else {
                _ = demo.value("address")
            }
            demo.finish()
        }

        if let routes = reader.tableArray("route") {
            for (index, var route) in routes.enumerated() {
                let name = route.string("name") ?? "route\(index)"
                let upstream = route.string("upstream")
                if upstream == nil, route.table["upstream"] == nil {
                    route.report("upstream", "missing: name the [upstream.NAME] this route forwards to")
                }
                var model = RouteConfiguration(name: name, upstream: upstream ?? "")
                model.host = route.string("host")
                if let prefix = route.string("path_prefix") { model.pathPrefix = prefix }
                model.hostRewrite = route.string("host_rewrite")
                model.maxBodyBytes = route.byteSize("max_body", minimum: 0)
                model.critical = route.bool("critical") ?? false
                route.finish()
                configuration.routes.append(model)
            }
        }

        if var upstreams = reader.table("upstream") {
            for name in upstreams.table.keys.sorted() {
                guard var pool = upstreams.table(name) else { continue }
                configuration.upstreams[name] = decodePool(name: name, &pool, baseDirectory: diagnostics.baseDirectory)
                pool.finish()
            }
            upstreams.finish()
        }

        if var limits = reader.table("limits") {
            configuration.limits = decodeLimits(&limits)
            limits.finish()
        }
        if var timeouts = reader.table("timeouts") {
            var model = TimeoutsConfiguration()
            if let v = timeouts.duration("connect") { model.connect = v }
            if let v = timeouts.duration("response_header") { model.responseHeader = v }
            if let v = timeouts.duration("idle") { model.idle = v }
            if let v = timeouts.duration("request") { model.request = v }
            timeouts.finish()
            configuration.timeouts = model
        }
        if var forwarding = reader.table("forwarding") {
            var model = ForwardingConfiguration()
            if let mode = forwarding.string("x_forwarded_for") {
                if let parsed = ForwardingConfiguration.XForwardedFor(rawValue: mode) {
                    model.xForwardedFor = parsed
                } else {
                    forwarding.report("x_forwarded_for", "must be \"append\", \"replace\" or \"off\", not \"\(mode)\"")
                }
            }
            if let proto = forwarding.bool("x_forwarded_proto") { model.xForwardedProto = proto }
            if let via = forwarding.string("via") { model.via = via.isEmpty ? nil : via }
            forwarding.finish()
            configuration.forwarding = model
        }
        if var accessLog = reader.table("access_log") {
            let enabled = accessLog.bool("enabled") ?? true
            let path = accessLog.string("path")
            if enabled {
                if let path, !path.isEmpty {
                    configuration.accessLog = AccessLogConfiguration(path: path)
                } else {
                    accessLog.report("path", "missing: a file path, or \"-\" for standard output")
                }
            }
            accessLog.finish()
        }

        configuration.degradation = DegradationConfiguration.decode(&reader)

        // The flood filter's sections: `[filter]` (trusted networks, classes, challenge, bans),
        // `[fleet]` (the Redis of global rules) and `[[rule]]`, decoded by `FilterConfiguration`
        // with the same file, lines and error list.
        reader.accept("filter")
        reader.accept("rule")
        reader.accept("fleet")
        let sourceMap = diagnostics.sourceMap
        var filterErrors: [ConfigurationError] = []
        configuration.filter = FilterConfiguration.decode(
            from: root, file: diagnostics.file, lineOf: { sourceMap.nearestLine(of: $0) }, errors: &filterErrors,
            environment: environment)
        diagnostics.errors += filterErrors

        reader.finish()
        return configuration
    }

    private static func decodeAdmin(_ reader: inout TOMLTableReader, environment: [String: String]) -> AdminConfiguration? {
        let environmentToken = environment[adminTokenEnvironmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        guard var admin = reader.table("admin") else {
            return AdminConfiguration(token: environmentToken)
        }
        defer { admin.finish() }
        let enabled = admin.bool("enabled") ?? true
        var model = AdminConfiguration(token: environmentToken)
        if let (host, port) = admin.hostPort("address") {
            model.host = host
            model.port = port
        }
        if let token = admin.string("token") {
            if token.count < 16 {
                admin.report("token", "too short: use at least 16 characters (e.g. `openssl rand -hex 24`)")
            } else {
                model.token = token
            }
        }
        return enabled ? model : nil
    }

    private static func decodePool(name: String, _ pool: inout TOMLTableReader, baseDirectory: String?) -> UpstreamPoolConfiguration {
        var model = UpstreamPoolConfiguration(name: name, backends: [])
        if let backends = pool.stringArray("backends") {
            for (i, text) in backends.enumerated() {
                switch parseBackend(text) {
                case .success(let address): model.backends.append(address)
                case .failure(let reason): pool.diagnostics.report("\(pool.fieldPath("backends"))[\(i)]", reason.message)
                }
            }
            if backends.isEmpty { pool.report("backends", "empty: list at least one \"host:port\"") }
        } else if pool.table["backends"] == nil {
            pool.report("backends", "missing: list at least one backend, e.g. backends = [\"127.0.0.1:9000\"]")
        }
        if let balance = pool.string("balance") {
            if let parsed = UpstreamPoolConfiguration.Balance(rawValue: balance) {
                model.balance = parsed
            } else {
                pool.report("balance", "must be \"round-robin\" or \"least-in-flight\", not \"\(balance)\"")
            }
        }
        if let v = pool.int("max_failures", in: 1...1000) { model.maxFailures = v }
        if let v = pool.duration("ejection_time") { model.ejectionTime = v }
        if let v = pool.int("retries", in: 0...10) { model.maxRetries = v }
        if let v = pool.int("max_idle_per_loop", in: 0...100_000) { model.maxIdlePerLoop = v }
        if var concurrency = pool.table("concurrency") {
            model.concurrency = ConcurrencyConfiguration.decode(&concurrency)
            concurrency.finish()
        }
        decodePoolTLS(&model, &pool, baseDirectory: baseDirectory)
        return model
    }

    /// `tls = true` (every backend over TLS; `https://` addresses need no flag), `tls_ca_file`,
    /// `tls_server_name`, `tls_verify` (default true). The CA file is read now, so that a bad one
    /// is an error with its line instead of failed handshakes later.
    private static func decodePoolTLS(_ model: inout UpstreamPoolConfiguration, _ pool: inout TOMLTableReader, baseDirectory: String?) {
        if pool.bool("tls") == true {
            model.backends = model.backends.map { BackendAddress(host: $0.host, port: $0.port, tls: true) }
        }
        if let verify = pool.bool("tls_verify") { model.tls.verify = verify }
        if let name = pool.string("tls_server_name") {
            if name.isEmpty || name.contains(" ") || name.contains("/") || (try? SocketAddress(ipAddress: name, port: 0)) != nil {
                pool.report("tls_server_name", "\"\(name)\" is not a host name (an IP address needs no server name)")
            } else {
                model.tls.serverName = name
            }
        }
        if let caFile = pool.string("tls_ca_file") {
            let path = ListenerTLSConfiguration.resolve(caFile, baseDirectory)
            if let problem = UpstreamTLSContext.checkCAFile(path) {
                pool.report("tls_ca_file", problem)
            } else {
                model.tls.caFile = path
            }
        }
        let usesTLS = model.backends.contains { $0.tls }
        if !usesTLS, pool.table["tls_ca_file"] != nil || pool.table["tls_server_name"] != nil || pool.table["tls_verify"] != nil {
            pool.report("tls", "TLS settings given but no backend uses TLS: write https:// addresses or tls = true")
        }
    }

    private static func decodeLimits(_ limits: inout TOMLTableReader) -> LimitsConfiguration {
        var model = LimitsConfiguration()
        if let v = limits.byteSize("max_request_line", minimum: 64) { model.maxRequestLineBytes = v }
        if let v = limits.byteSize("max_header_bytes", minimum: 256) { model.maxHeaderBytes = v }
        if let v = limits.int("max_headers", in: 1...10_000) { model.maxHeaderCount = v }
        if let v = limits.byteSize("max_body", minimum: 0) { model.maxBodyBytes = v }
        if let v = limits.duration("header_timeout") { model.headerTimeout = v }
        if let v = limits.byteSize("min_body_rate", minimum: 0) { model.minBodyBytesPerSecond = v }
        if let v = limits.int("max_connections_per_address", in: 1...10_000_000) { model.maxConnectionsPerAddress = v }
        if let v = limits.int("max_connections", in: 1...10_000_000) { model.maxConnections = v }
        return model
    }

    struct Reason: Error { var message: String }

    /// `"127.0.0.1:9000"`, `"http://127.0.0.1:9000"` or `"https://api.internal:8443"` (TLS; port 443 by default), no path.
    static func parseBackend(_ text: String) -> Result<BackendAddress, Reason> {
        var rest = Substring(text.trimmingSpaces)
        var tls = false
        if rest.hasPrefix("https://") {
            rest = rest.dropFirst("https://".count)
            tls = true
        } else if rest.hasPrefix("http://") {
            rest = rest.dropFirst("http://".count)
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.contains("/") {
            return .failure(Reason(message: "\"\(text)\": a backend is host:port, without a path"))
        }
        if tls, !rest.contains(":") { rest += ":443" }
        guard let (host, port) = ConfigurationUnits.parseHostPort(String(rest)), port > 0 else {
            return .failure(Reason(message: "invalid backend \"\(text)\" (expected host:port, e.g. \"127.0.0.1:9000\")"))
        }
        return .success(BackendAddress(host: host, port: port, tls: tls))
    }
}
