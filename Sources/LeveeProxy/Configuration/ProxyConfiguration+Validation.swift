extension ProxyConfiguration {
    /// One problem found by `validationProblems()`, named by the TOML field path it concerns.
    public struct Problem: Sendable, Equatable {
        public var field: String
        public var message: String
    }

    /// Cross-field checks that no single field can make alone: routes name existing upstreams,
    /// names are unique, addresses do not collide. Field paths are those of the TOML schema
    /// (`route[0].upstream`, `upstream.api.backends`), so file errors can be placed on a line.
    public func validationProblems() -> [Problem] {
        var problems: [Problem] = []
        func problem(_ field: String, _ message: String) { problems.append(Problem(field: field, message: message)) }

        var seenListeners: Set<String> = []
        for (i, listener) in listeners.enumerated() {
            let key = "\(listener.host):\(listener.port)"
            if listener.port != 0, !seenListeners.insert(key).inserted {
                problem("listen[\(i)].address", "\(key) is listed twice")
            }
        }

        if routes.isEmpty {
            problem("route", "no route: add a [[route]] with an upstream (e.g. path_prefix = \"/\", upstream = \"app\")")
        }
        var seenRoutes: Set<String> = []
        for (i, route) in routes.enumerated() {
            let base = "route[\(i)]"
            if route.name.isEmpty {
                problem("\(base).name", "must not be empty")
            } else if !seenRoutes.insert(route.name).inserted {
                problem("\(base).name", "another route is already named \"\(route.name)\"")
            }
            if !route.pathPrefix.hasPrefix("/") {
                problem("\(base).path_prefix", "must start with \"/\" (got \"\(route.pathPrefix)\")")
            }
            if let host = route.host, host.isEmpty || host.contains(" ") || host.contains("/") {
                problem("\(base).host", "invalid host \"\(host)\" (a host name without scheme or path)")
            }
            if !route.upstream.isEmpty, upstreams[route.upstream] == nil {
                let known = upstreams.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
                problem("\(base).upstream", "no upstream named \"\(route.upstream)\"" + (known.isEmpty ? "" : " (defined: \(known))"))
            }
        }

        for name in upstreams.keys.sorted() {
            if name.isEmpty || !name.utf8.allSatisfy(Self.isNameByte) {
                problem("upstream.\(name)", "invalid upstream name \"\(name)\": use letters, digits, '-' and '_'")
            }
            for p in upstreams[name]?.concurrency?.problems(base: "upstream.\(name).concurrency") ?? [] {
                problem(p.field, p.message)
            }
        }

        if let admin {
            let adminKey = "\(admin.host):\(admin.port)"
            if admin.port != 0, listeners.contains(where: { "\($0.host):\($0.port)" == adminKey }) {
                problem("admin.address", "\(adminKey) is also a proxy listener")
            }
        }
        if let demo = demoBackend {
            let demoKey = "\(demo.host):\(demo.port)"
            if demo.port != 0, listeners.contains(where: { "\($0.host):\($0.port)" == demoKey }) {
                problem("demo.address", "\(demoKey) is also a proxy listener")
            }
            if let admin, demo.port != 0, admin.host == demo.host, admin.port == demo.port {
                problem("demo.address", "\(demoKey) is also the admin listener")
            }
        }
        if timeouts.responseHeader > timeouts.request {
            problem("timeouts.response_header", "longer than timeouts.request; the request timeout would always fire first")
        }
        problems += degradation.validationProblems(routes: routes.map(\.name), rules: filter.rules.map(\.name))
        return problems
    }

    private static func isNameByte(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
    }

    func validate(diagnostics: ConfigurationDiagnostics) {
        for problem in validationProblems() { diagnostics.report(problem.field, problem.message) }
    }
}
