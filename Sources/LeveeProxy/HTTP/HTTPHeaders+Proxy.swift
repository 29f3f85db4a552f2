import NIOHTTP1

extension HTTPHeaders {
    /// Hop-by-hop fields (RFC 9110 §7.6.1) that a proxy must not forward.
    static let hopByHopNames: [String] = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// Removes hop-by-hop fields, including those listed in `Connection`.
    mutating func removeHopByHop() {
        for value in self["connection"] {
            for token in value.split(separator: ",") {
                let name = trimmed(token)
                if !name.isEmpty { remove(name: String(name)) }
            }
        }
        for name in Self.hopByHopNames { remove(name: name) }
    }

    /// Whether the message body is chunked (the last transfer coding is `chunked`).
    var isChunked: Bool {
        guard let last = self["transfer-encoding"].last?.split(separator: ",").last else { return false }
        return trimmed(last).lowercased() == "chunked"
    }

    /// Whether a field holds `token` in its comma-separated list (case-insensitive).
    func containsToken(_ token: String, in name: String) -> Bool {
        for value in self[name] {
            for item in value.split(separator: ",") where trimmed(item).lowercased() == token { return true }
        }
        return false
    }
}

/// Strips spaces and tabs around a list item (no Foundation on the data path).
private func trimmed(_ s: Substring) -> Substring {
    var s = s
    while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" { s.removeLast() }
    return s
}
