import NIOHTTP1

/// The characteristics of one request that rules match and key on, computed once per request.
public struct RequestFacts: Sendable {
    public var method: String
    /// Lowercased `Host` without its port ("" when absent); computed only when a rule asks.
    public var host: String { Self.normalizedHost(headers.first(name: "host") ?? "") }
    /// The path, without the query.
    public var path: Substring
    /// The query, without `?` ("" when absent).
    public var query: Substring
    public var route: String
    public var headers: HTTPHeaders
    public var ja4: String?
    public var address: ClientAddress?
    public var clientClass: ClientClass

    public init(request: RequestContext, address: ClientAddress?, clientClass: ClientClass = .unknown) {
        method = request.head.method.rawValue
        let uri = request.head.uri
        // Byte search: no Character segmentation on the hot path.
        if let q = uri.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = uri[..<q]
            query = uri[uri.utf8.index(after: q)...]
        } else {
            path = uri[...]
            query = ""
        }
        route = request.routeName
        headers = request.head.headers
        ja4 = request.ja4
        self.address = address
        self.clientClass = clientClass
    }

    /// The value of cookie `name` in the request's `Cookie` fields, if present.
    public func cookie(_ name: String) -> Substring? {
        for field in headers["cookie"] {
            for pair in field.split(separator: ";") {
                let kv = pair.trimmingASCIISpaces()
                guard let eq = kv.firstIndex(of: "=") else { continue }
                if kv[..<eq] == name[...] {
                    var v = kv[kv.index(after: eq)...]
                    if v.count >= 2, v.first == "\"", v.last == "\"" { v = v.dropFirst().dropLast() }
                    return v
                }
            }
        }
        return nil
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? { headers.first(name: name) }

    static func normalizedHost(_ raw: String) -> String {
        var h = raw[...]
        if h.hasPrefix("[") {
            if let close = h.firstIndex(of: "]") { h = h[...close] }
        } else if let colon = h.lastIndex(of: ":") {
            h = h[..<colon]
        }
        return h.lowercased()
    }
}
