import NIOCore

/// A client's IP address as a plain value: IPv4 in 32 bits or IPv6 in 128 bits.
///
/// Parsed and compared without Foundation and without allocating, because every request on the
/// hot path turns its socket address into one. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
/// become IPv4 so that a dual-stack listener keys the same client the same way.
public enum ClientAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(high: UInt64, low: UInt64)

    /// Builds the address of an IP socket address; nil for Unix-domain sockets.
    public init?(_ socketAddress: SocketAddress) {
        switch socketAddress {
        case .v4(let a):
            self = .v4(UInt32(bigEndian: a.address.sin_addr.s_addr))
        case .v6(let a):
            var high: UInt64 = 0
            var low: UInt64 = 0
            withUnsafeBytes(of: a.address.sin6_addr) { raw in  // reads the 16 address bytes of a value copy
                for i in 0..<8 { high = high << 8 | UInt64(raw[i]) }
                for i in 8..<16 { low = low << 8 | UInt64(raw[i]) }
            }
            self = ClientAddress.normalized(high: high, low: low)
        case .unixDomainSocket:
            return nil
        }
    }

    /// Parses dotted IPv4 or textual IPv6 (RFC 4291 forms, `::` compression, embedded IPv4).
    public init?(_ text: some StringProtocol) {
        var utf8 = Array(text.utf8)
        if utf8.isEmpty || utf8.count > 45 { return nil }
        // Strip an IPv6 zone id ("fe80::1%eth0"): it does not identify a client.
        if let percent = utf8.firstIndex(of: UInt8(ascii: "%")) { utf8.removeSubrange(percent...) }
        if utf8.contains(UInt8(ascii: ":")) {
            guard let (h, l) = ClientAddress.parseV6(utf8[...]) else { return nil }
            self = ClientAddress.normalized(high: h, low: l)
        } else {
            guard let v = ClientAddress.parseV4(utf8[...]) else { return nil }
            self = .v4(v)
        }
    }

    /// Builds an IPv6 value, folding IPv4-mapped addresses into IPv4.
    public static func normalized(high: UInt64, low: UInt64) -> ClientAddress {
        if high == 0 && low >> 32 == 0xFFFF { return .v4(UInt32(truncatingIfNeeded: low)) }
        return .v6(high: high, low: low)
    }

    public var isIPv4: Bool { if case .v4 = self { return true } else { return false } }

    /// The aggregate network a single client most likely controls: its /24 for IPv4, its /64 for IPv6.
    public var subnet: ClientAddress {
        switch self {
        case .v4(let v): return .v4(v & 0xFFFF_FF00)
        case .v6(let h, _): return .v6(high: h, low: 0)
        }
    }

    /// The prefix length `subnet` uses (24 or 64).
    public var subnetPrefixLength: Int { isIPv4 ? 24 : 64 }

    /// The address with only its first `prefixLength` bits kept.
    public func masked(to prefixLength: Int) -> ClientAddress {
        switch self {
        case .v4(let v):
            let p = max(0, min(32, prefixLength))
            let mask: UInt32 = p == 0 ? 0 : ~UInt32(0) << (32 - p)
            return .v4(v & mask)
        case .v6(let h, let l):
            let p = max(0, min(128, prefixLength))
            let hm: UInt64 = p == 0 ? 0 : (p >= 64 ? ~0 : ~UInt64(0) << (64 - p))
            let lm: UInt64 = p <= 64 ? 0 : (p == 128 ? ~0 : ~UInt64(0) << (128 - p))
            return .v6(high: h & hm, low: l & lm)
        }
    }

    public var description: String {
        switch self {
        case .v4(let v):
            let a = v >> 24, b = (v >> 16) & 0xFF, c = (v >> 8) & 0xFF, d = v & 0xFF
            return "\(a).\(b).\(c).\(d)"
        case .v6(let h, let l):
            var groups = [UInt16](repeating: 0, count: 8)
            for k in 0..<4 {
                let shift = UInt64(48 - 16 * k)
                groups[k] = UInt16(truncatingIfNeeded: h >> shift)
                groups[k + 4] = UInt16(truncatingIfNeeded: l >> shift)
            }
            // RFC 5952: compress the longest run (length >= 2) of zero groups.
            var bestStart = -1, bestLen = 0, i = 0
            while i < 8 {
                if groups[i] == 0 {
                    var j = i
                    while j < 8 && groups[j] == 0 { j += 1 }
                    if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                    i = j
                } else { i += 1 }
            }
            func hex(_ g: UInt16) -> String { String(g, radix: 16) }
            if bestStart < 0 { return groups.map(hex).joined(separator: ":") }
            let left = groups[..<bestStart].map(hex).joined(separator: ":")
            let right = groups[(bestStart + bestLen)...].map(hex).joined(separator: ":")
            return left + "::" + right
        }
    }

    // MARK: parsing

    static func parseV4(_ s: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var parts = 0
        for c in s {
            if c == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | octet
                parts += 1
                octet = 0
                digits = 0
            } else if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                // Leading zeros are refused: "010" is octal to some parsers and decimal to others.
                if digits > 0 && octet == 0 { return nil }
                octet = octet * 10 + UInt32(c - UInt8(ascii: "0"))
                digits += 1
                guard octet <= 255, digits <= 3 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return value << 8 | octet
    }

    static func parseV6(_ s: ArraySlice<UInt8>) -> (UInt64, UInt64)? {
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawDoubleColon = false
        var i = s.startIndex
        let end = s.endIndex
        if s.starts(with: [UInt8(ascii: ":"), UInt8(ascii: ":")]) {
            sawDoubleColon = true
            i += 2
        } else if s.first == UInt8(ascii: ":") {
            return nil
        }
        while i < end {
            // One group: hex digits, or a trailing dotted IPv4.
            var j = i
            while j < end && s[j] != UInt8(ascii: ":") { j += 1 }
            let part = s[i..<j]
            if part.isEmpty { return nil }
            if part.contains(UInt8(ascii: ".")) {
                guard j == end, let v4 = parseV4(part) else { return nil }
                let groups = [UInt16(v4 >> 16), UInt16(v4 & 0xFFFF)]
                if sawDoubleColon { tail += groups } else { head += groups }
                i = j
                break
            }
            guard part.count <= 4 else { return nil }
            var g: UInt16 = 0
            for c in part {
                guard let d = hexValue(c) else { return nil }
                g = g << 4 | UInt16(d)
            }
            if sawDoubleColon { tail.append(g) } else { head.append(g) }
            if j == end { i = j; break }
            // j is at ':'
            if j + 1 < end && s[j + 1] == UInt8(ascii: ":") {
                guard !sawDoubleColon else { return nil }
                sawDoubleColon = true
                i = j + 2
            } else {
                guard j + 1 < end else { return nil }
                i = j + 1
            }
        }
        let total = head.count + tail.count
        if sawDoubleColon { guard total <= 7 else { return nil } } else { guard total == 8 else { return nil } }
        let groups = head + Array(repeating: 0, count: 8 - total) + tail
        var h: UInt64 = 0
        var l: UInt64 = 0
        for k in 0..<4 { h = h << 16 | UInt64(groups[k]) }
        for k in 4..<8 { l = l << 16 | UInt64(groups[k]) }
        return (h, l)
    }

    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
