import NIOCore

/// Where a load run sends its requests: an `http://` or `https://` URL split into its parts.
public struct LoadTarget: Sendable, Equatable {
    /// `https://`: every connection speaks TLS (HTTP/1.1 over TLS, or HTTP/2 with `Scenario.http2`;
    /// certificates not verified, SNI sent for host names).
    public var tls: Bool = false
    /// The host as written in the URL (a name or an address).
    public var host: String
    public var port: Int
    /// The path and query of the URL ("/" when none was given).
    public var path: String

    /// Parses `http://host[:port][/path]` or `https://host[:port][/path]` (HTTP/1.1 over TLS).
    public init(url: String) throws(LoadError) {
        var rest = Substring(url)
        if rest.lowercased().hasPrefix("https://") {
            tls = true
            rest = rest.dropFirst("https://".count)
        } else if rest.lowercased().hasPrefix("http://") {
            rest = rest.dropFirst("http://".count)
        } else {
            throw .invalidTarget(url, "only http:// and https:// URLs are supported")
        }
        let defaultPort = tls ? 443 : 80
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = rest[slash...]
        self.path = path.isEmpty ? "/" : String(path)
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalidTarget(url, "unterminated IPv6 address") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                port = defaultPort
            } else if after.hasPrefix(":"), let p = Int(after.dropFirst()), (1...65535).contains(p) {
                port = p
            } else {
                throw .invalidTarget(url, "bad port")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else {
                throw .invalidTarget(url, "bad port")
            }
            port = p
        } else {
            host = String(authority)
            port = defaultPort
        }
        if host.isEmpty { throw .invalidTarget(url, "missing host") }
    }

    /// `Host` header value.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? h : "\(h):\(port)"
    }

    /// `host:port` with the port always given (IPv6 in brackets), for messages.
    public var authority: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }

    /// True for 127.0.0.0/8, ::1 and `localhost`: the only targets allowed without `--allow-remote`.
    public var isLoopback: Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
        return parts[0] == "127"
    }

    /// Refuses anything outside loopback unless the operator explicitly allowed it.
    public func checkAllowed(allowRemote: Bool) throws(LoadError) {
        if !isLoopback && !allowRemote { throw .remoteTargetRefused(host) }
    }

    /// The socket address to connect to (`localhost` means 127.0.0.1).
    public func resolve() throws -> SocketAddress {
        let h = host.lowercased() == "localhost" ? "127.0.0.1" : host
        if let address = try? SocketAddress(ipAddress: h, port: port) { return address }
        return try SocketAddress.makeAddressResolvingHost(h, port: port)
    }
}
