/// The JA4 TLS client fingerprint (FoxIO's specification, TLS over TCP), e.g.
/// `t13d1516h2_8daaf6152771_e5627efa2ab1`. Rules can key on it or block listed values.
public struct JA4Fingerprint: Sendable, Hashable, CustomStringConvertible {
    /// `t13d1516h2`: protocol, version, SNI, cipher and extension counts, ALPN.
    public var a: String
    /// Truncated SHA-256 of the sorted cipher list.
    public var b: String
    /// Truncated SHA-256 of the sorted extensions (without SNI and ALPN) and signature algorithms.
    public var c: String

    public var description: String { "\(a)_\(b)_\(c)" }

    /// Computes JA4 (or, with `originalOrder`, JA4_o which keeps wire order and SNI/ALPN).
    public init(_ hello: ClientHello, originalOrder: Bool = false) {
        let ciphers = hello.cipherSuites.filter { !Self.isGREASE($0) }
        let extensions = hello.extensions.filter { !Self.isGREASE($0) }
        let signatures = hello.signatureAlgorithms.filter { !Self.isGREASE($0) }

        let versionCode: UInt16 =
            hello.supportedVersions.filter { !Self.isGREASE($0) }.max() ?? hello.legacyVersion
        let sni = extensions.contains(0x0000) ? "d" : "i"
        a = "t" + Self.versionLabel(versionCode) + sni + Self.twoDigits(ciphers.count)
            + Self.twoDigits(extensions.count) + Self.alpnLabel(hello.alpn.first)

        let cipherList = (originalOrder ? ciphers : ciphers.sorted()).map(Self.hex4)
        b = cipherList.isEmpty ? "000000000000" : Self.truncatedHash(cipherList.joined(separator: ","))

        let extensionList = (originalOrder ? extensions : extensions.filter { $0 != 0x0000 && $0 != 0x0010 }.sorted())
            .map(Self.hex4)
        if extensionList.isEmpty {
            c = "000000000000"
        } else {
            var text = extensionList.joined(separator: ",")
            if !signatures.isEmpty { text += "_" + signatures.map(Self.hex4).joined(separator: ",") }
            c = Self.truncatedHash(text)
        }
    }

    /// GREASE values (RFC 8701): 0x?a?a with equal bytes.
    public static func isGREASE(_ value: UInt16) -> Bool {
        value & 0x0F0F == 0x0A0A && value >> 8 == value & 0xFF
    }

    static func versionLabel(_ version: UInt16) -> String {
        switch version {
        case 0x0304: "13"
        case 0x0303: "12"
        case 0x0302: "11"
        case 0x0301: "10"
        case 0x0300: "s3"
        case 0x0002: "s2"
        case 0xFEFF: "d1"
        case 0xFEFD: "d2"
        case 0xFEFC: "d3"
        default: "00"
        }
    }

    static func twoDigits(_ n: Int) -> String {
        let v = min(n, 99)
        return v < 10 ? "0\(v)" : "\(v)"
    }

    static func alpnLabel(_ first: [UInt8]?) -> String {
        guard let value = first, let head = value.first, let tail = value.last else { return "00" }
        func alphanumeric(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
        if alphanumeric(head) && alphanumeric(tail) {
            return String(UnicodeScalar(head)) + String(UnicodeScalar(tail))
        }
        let hex = SHA256.hexString(value)
        return String(hex.first!) + String(hex.last!)
    }

    static func hex4(_ v: UInt16) -> String {
        let h = SHA256.hexString([UInt8(v >> 8), UInt8(v & 0xFF)])
        return h
    }

    static func truncatedHash(_ text: String) -> String {
        String(SHA256.hex(text).prefix(12))
    }
}

extension JA4Fingerprint {
    /// Whether `text` has the shape of a JA4 (`a_b_c`: 10 characters, then two 12-digit lower-case hex parts).
    public static func isWellFormed(_ text: String) -> Bool {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 10 else { return false }
        let hex = Set("0123456789abcdef")
        return parts[1].count == 12 && parts[2].count == 12 && parts[1].allSatisfy(hex.contains) && parts[2].allSatisfy(hex.contains)
    }
}
