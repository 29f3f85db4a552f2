/// What a client's `Accept` field prefers, for choosing between an HTML page and problem+json.
public enum AcceptPreference {
    /// The q-value `Accept` gives to `type/subtype` (the most specific matching range wins:
    /// `text/html` over `text/*` over `*/*`). A missing or empty `Accept` means `*/*`.
    public static func quality(of mediaType: String, in accept: String?) -> Double {
        guard let accept, !accept.isEmpty else { return 1 }
        let parts = mediaType.lowercased().split(separator: "/")
        guard parts.count == 2 else { return 0 }
        var best: (specificity: Int, q: Double) = (-1, 0)
        for range in accept.split(separator: ",") {
            let params = range.split(separator: ";")
            guard let first = params.first else { continue }
            let r = first.trimmingASCIISpaces().lowercased().split(separator: "/")
            guard r.count == 2 else { continue }
            let specificity: Int
            if r[0] == parts[0] && r[1] == parts[1] { specificity = 2 }
            else if r[0] == parts[0] && r[1] == "*" { specificity = 1 }
            else if r[0] == "*" && r[1] == "*" { specificity = 0 }
            else { continue }
            var q = 1.0
            for p in params.dropFirst() {
                let kv = p.trimmingASCIISpaces()
                if kv.lowercased().hasPrefix("q="), let v = Double(kv.dropFirst(2)) { q = min(1, max(0, v)) }
            }
            if specificity > best.specificity { best = (specificity, q) }
        }
        return best.specificity < 0 ? 0 : best.q
    }

    /// Whether an error body should be HTML: `text/html` is acceptable and strictly preferred to JSON.
    public static func prefersHTML(_ accept: String?) -> Bool {
        let html = quality(of: "text/html", in: accept)
        let json = max(quality(of: "application/problem+json", in: accept), quality(of: "application/json", in: accept))
        return html > 0 && html > json
    }

    /// Whether the client names HTML explicitly (`text/html` or `text/*`, not just `*/*`) — a
    /// browser navigating. Only these get the JavaScript challenge; API clients and feed readers
    /// get the rule's fallback.
    public static func explicitlyAcceptsHTML(_ accept: String?) -> Bool {
        guard let accept else { return false }
        for range in accept.split(separator: ",") {
            let params = range.split(separator: ";")
            guard let first = params.first else { continue }
            let t = first.trimmingASCIISpaces().lowercased()
            guard t == "text/html" || t == "text/*" else { continue }
            return quality(of: "text/html", in: accept) > 0
        }
        return false
    }
}

extension StringProtocol {
    package func trimmingASCIISpaces() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
