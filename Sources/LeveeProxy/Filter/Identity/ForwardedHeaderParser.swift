/// Parses the client chain out of `X-Forwarded-For` and `Forwarded` (RFC 7239).
///
/// Both yield the list of hops from the original client (leftmost) to the last proxy before us
/// (rightmost). An element that is not an IP address (`unknown`, an obfuscated `_token`, garbage)
/// is kept as nil so that the caller can stop there: nothing left of it can be trusted.
public enum ForwardedHeaderParser {
    /// Hops of one or more `X-Forwarded-For` values, in order (several header lines concatenate).
    public static func xForwardedFor<S: Sequence>(_ values: S) -> [ClientAddress?] where S.Element == String {
        var hops: [ClientAddress?] = []
        for value in values {
            for element in value.split(separator: ",", omittingEmptySubsequences: false) {
                hops.append(parseNode(trimmed(element)))
            }
        }
        return hops
    }

    /// Hops of one or more `Forwarded` values: the `for=` parameter of each element.
    public static func forwarded<S: Sequence>(_ values: S) -> [ClientAddress?] where S.Element == String {
        var hops: [ClientAddress?] = []
        for value in values {
            for element in splitOutsideQuotes(value, separator: ",") {
                var node: ClientAddress?? = .none
                for pair in splitOutsideQuotes(element, separator: ";") {
                    let kv = trimmed(pair)
                    guard let eq = kv.firstIndex(of: "=") else { continue }
                    let name = kv[..<eq].lowercased()
                    guard name == "for" else { continue }
                    var v = kv[kv.index(after: eq)...]
                    if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = v.dropFirst().dropLast() }
                    node = .some(parseNode(v))
                }
                // An element without `for=` says nothing about the client: it breaks the chain.
                hops.append(node ?? nil)
            }
        }
        return hops
    }

    /// `192.0.2.1`, `192.0.2.1:8080`, `[2001:db8::1]`, `[2001:db8::1]:443`, `2001:db8::1`.
    static func parseNode(_ text: Substring) -> ClientAddress? {
        var s = text
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { return nil }
            let inner = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber)) else { return nil }
            return ClientAddress(inner)
        }
        // IPv4 with a port: exactly one colon.
        if let colon = s.firstIndex(of: ":"), s[s.index(after: colon)...].firstIndex(of: ":") == nil {
            guard s[s.index(after: colon)...].allSatisfy(\.isNumber) else { return nil }
            s = s[..<colon]
        }
        return ClientAddress(s)
    }

    static func trimmed(_ s: Substring) -> Substring {
        var t = s
        while let f = t.first, f == " " || f == "\t" { t = t.dropFirst() }
        while let l = t.last, l == " " || l == "\t" { t = t.dropLast() }
        return t
    }

    static func splitOutsideQuotes(_ s: some StringProtocol, separator: Character) -> [Substring] {
        let str = Substring(s)
        var parts: [Substring] = []
        var start = str.startIndex
        var inQuotes = false
        var i = str.startIndex
        while i < str.endIndex {
            let c = str[i]
            if c == "\"" { inQuotes.toggle() } else if c == separator && !inQuotes {
                parts.append(str[start..<i])
                start = str.index(after: i)
            }
            i = str.index(after: i)
        }
        parts.append(str[start...])
        return parts
    }
}
