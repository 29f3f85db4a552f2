/// Chooses the route of a request: the first route whose host (if any) and path prefix match.
struct Router: Sendable {
    struct Entry: Sendable {
        let route: RouteConfiguration
        /// Lower-cased host to match, nil for any.
        let host: String?
        let pool: UpstreamPool
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
