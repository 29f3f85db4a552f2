/// A path pattern: `*` matches any run of characters except `/`, `**` matches anything
/// (including `/`), `?` one character except `/`; everything else matches itself.
/// `/api/*/items` matches `/api/v1/items`; `/static/**` matches every path below `/static/`.
public struct GlobPattern: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let bytes: [UInt8]

    public init(_ pattern: String) {
        self.pattern = pattern
        self.bytes = Array(pattern.utf8)
    }

    public var description: String { pattern }

    public func matches(_ path: some StringProtocol) -> Bool {
        let text = Array(path.utf8)
        return Self.match(bytes[...], text[...])
    }

    private static func match(_ p: ArraySlice<UInt8>, _ t: ArraySlice<UInt8>) -> Bool {
        var p = p
        var t = t
        while let c = p.first {
            if c == UInt8(ascii: "*") {
                let doubleStar = p.dropFirst().first == UInt8(ascii: "*")
                let rest = p.dropFirst(doubleStar ? 2 : 1)
                if rest.isEmpty { return doubleStar || !t.contains(UInt8(ascii: "/")) }
                // Try every split point; stop at '/' for a single star. Paths are short.
                var i = t.startIndex
                while true {
                    if match(rest, t[i...]) { return true }
                    if i == t.endIndex { return false }
                    if !doubleStar && t[i] == UInt8(ascii: "/") { return false }
                    i += 1
                }
            }
            guard let d = t.first else { return false }
            if c == UInt8(ascii: "?") {
                if d == UInt8(ascii: "/") { return false }
            } else if c != d {
                return false
            }
            p = p.dropFirst()
            t = t.dropFirst()
        }
        return t.isEmpty
    }
}
