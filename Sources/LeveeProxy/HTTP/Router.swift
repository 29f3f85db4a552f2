/// Chooses the route of a request: the first route whose host (if any) and path prefix match.
struct Router: Sendable {
    /// A class: an exchange holds its route by one reference instead of copying the route's
    /// configuration (a dozen fields) per request.
    final class Entry: Sendable {
        let route: RouteConfiguration
        /// Lower-cased host to match, nil for any.
        let host: String?
        let pool: UpstreamPool
        /// The route's `Host` rewrite. Validation refuses an unsendable one; one that bypassed
        /// it is not sent (the backend gets `fallbackHost`).
        let hostRewrite: String?
        /// The `Host` sent upstream when the client sent none and the route rewrites none (the
        /// pool's first backend), formatted once here rather than per request.
        let fallbackHost: String?

        init(route: RouteConfiguration, host: String?, pool: UpstreamPool) {
            self.route = route
            self.host = host
            self.pool = pool
            let rewrite = route.hostRewrite.flatMap { $0.isSendableFieldValue ? $0 : nil }
            self.hostRewrite = rewrite
            let first = pool.backends.first.map { "\($0.address)" }
            self.fallbackHost = rewrite == nil ? first.flatMap { $0.isSendableFieldValue ? $0 : nil } : nil
        }
    }

    let entries: [Entry]

    /// - Parameters:
    ///   - host: the request's `Host` (port and case are ignored).
    ///   - path: the request target (query included; a prefix match ignores it only by luck of
    ///     being at the end).
    func match(host: String?, path: String) -> Entry? {
        var bareHost: String??  // normalized only if some route names a host
        for entry in entries {
            if let wanted = entry.host {
                if bareHost == nil { bareHost = .some(host.map(Self.normalize)) }
                if wanted != bareHost! { continue }
            }
            if path.hasPrefix(entry.route.pathPrefix) { return entry }
        }
        return nil
    }

    /// "Example.COM:8080" → "example.com"; "[::1]:80" → "[::1]".
    static func normalize(_ host: String) -> String {
        var h = Substring(host)
        if h.hasPrefix("[") {
            if let end = h.firstIndex(of: "]") { h = h[...end] }
        } else if let colon = h.lastIndex(of: ":") {
            h = h[..<colon]
        }
        return h.lowercased()
    }
}
