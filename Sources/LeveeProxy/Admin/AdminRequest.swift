import NIOCore
import NIOHTTP1

/// A request to the admin listener, fully read (bodies are capped at `AdminServer.maxBodyBytes`).
public struct AdminRequest: Sendable {
    public var method: HTTPMethod
    /// The path without the query string.
    public var path: String
    /// Query parameters (`?limit=10`); the last value wins for a repeated name.
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.method = method
        self.headers = headers
        self.body = body
        if let mark = uri.firstIndex(of: "?") {
            self.path = String(uri[..<mark])
            var query: [String: String] = [:]
            for pair in uri[uri.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                let name = String(parts[0]).removingPercentEncodingLenient
                query[name] = parts.count > 1 ? String(parts[1]).removingPercentEncodingLenient : ""
            }
            self.query = query
        } else {
            self.path = uri
            self.query = [:]
        }
    }

    /// The percent-decoded rest of the path after `prefix` (`/admin/bans/10.0.0.0%2F8` after
    /// `/admin/bans/` is `10.0.0.0/8`); nil when the path does not start with `prefix`.
    public func pathRemainder(after prefix: String) -> String? {
        guard path.hasPrefix(prefix) else { return nil }
        return String(path.dropFirst(prefix.count)).removingPercentEncodingLenient
    }

    /// The bearer token of the `Authorization` header, if any.
    public var bearerToken: String? {
        guard let value = headers.first(name: "authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingSpaces
    }
}

extension String {
    /// Percent-decoding that keeps malformed escapes as they are (admin queries are small and
    /// typed by operators; rejecting them would help nobody).
    var removingPercentEncodingLenient: String {
        var bytes: [UInt8] = []
        var iterator = Array(utf8.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 })[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
