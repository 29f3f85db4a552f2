/// Keys of global rules: the same text on every instance, because it names the shared bucket in
/// Redis (`levee:<rule>:<text>`). `limiterKey(for:)` hashes with a per-process seed, which is
/// right locally and useless across a fleet.
extension RuleKey {
    /// Longer texts are replaced by the SHA-256 of the text (hex), so a huge header value cannot
    /// make a huge Redis key.
    static let longestStableText = 128

    /// The request's key as text that every instance computes alike: `203.0.113.7`,
    /// `203.0.113.0/24`, `global`, or for other parts and combinations `part=value` joined with
    /// `|` (`ip=203.0.113.7|path=/api`). Values are escaped (`%`, `|`, `=` and control bytes as
    /// `%XX`) so that no crafted value can name another client's bucket.
    public func stableText(for facts: RequestFacts) -> String {
        if parts.count == 1 {
            switch parts[0] {
            case .ip: return Self.addressText(facts.address)
            case .subnet: return Self.subnetText(facts.address)
            case .global: return "global"
            default: break
            }
        }
        var text = ""
        for (index, part) in parts.enumerated() {
            if index > 0 { text += "|" }
            text += part.description
            text += "="
            switch part {
            case .ip: text += Self.addressText(facts.address)
            case .subnet: text += Self.subnetText(facts.address)
            case .route: Self.appendEscaped(facts.route, to: &text)
            case .path: Self.appendEscaped(facts.path, to: &text)
            case .method: Self.appendEscaped(facts.method, to: &text)
            case .host: Self.appendEscaped(facts.host, to: &text)
            case .header(let n): Self.appendEscaped(facts.header(n) ?? "", to: &text)
            case .cookie(let n): Self.appendEscaped(facts.cookie(n) ?? "", to: &text)
            case .ja4: Self.appendEscaped(facts.ja4 ?? "", to: &text)
            case .clientClass: text += facts.clientClass.rawValue
            case .global: text += "*"
            }
        }
        if text.utf8.count > Self.longestStableText { return "sha256:" + SHA256.hex(text) }
        return text
    }

    static func addressText(_ address: ClientAddress?) -> String {
        address?.description ?? "unix"
    }

    static func subnetText(_ address: ClientAddress?) -> String {
        guard let address else { return "unix" }
        return "\(address.subnet)/\(address.subnetPrefixLength)"
    }

    /// Appends `value`, with the separators, `%` and bytes outside printable ASCII as `%XX`.
    static func appendEscaped<S: StringProtocol>(_ value: S, to text: inout String) {
        let hex: [Character] = Array("0123456789ABCDEF")
        for byte in value.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") && byte != UInt8(ascii: "|") && byte != UInt8(ascii: "=") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text.append("%")
                text.append(hex[Int(byte >> 4)])
                text.append(hex[Int(byte & 0x0F)])
            }
        }
    }
}
