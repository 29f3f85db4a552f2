import NIOCore

/// A range of IPv4 source addresses inside 127.0.0.0/8 to bind client connections to, so that
/// one machine looks like many clients (and does not run out of ephemeral ports).
public struct SourceAddressRange: Sendable, Equatable {
    /// First address as a host-order integer.
    public var first: UInt32
    /// Number of addresses in the range.
    public var count: Int

    /// Parses `127.1.0.0/16`, `127.0.1.1-127.0.1.200` or a single address.
    public init(_ text: String) throws(LoadError) {
        if let slash = text.firstIndex(of: "/") {
            guard let base = Self.parse(String(text[..<slash])), let bits = Int(text[text.index(after: slash)...]),
                  (8...32).contains(bits) else { throw .invalidScenario("bad source range \(text)") }
            let size = UInt64(1) << UInt64(32 - bits)
            let network = UInt32(UInt64(base) & ~(size - 1))
            // Skip the network address (x.x.x.0) in ranges larger than one address.
            first = size > 2 ? network + 1 : network
            count = Int(size > 2 ? size - 2 : size)
        } else if let dash = text.firstIndex(of: "-") {
            guard let a = Self.parse(String(text[..<dash])), let b = Self.parse(String(text[text.index(after: dash)...])),
                  b >= a else { throw .invalidScenario("bad source range \(text)") }
            first = a
            count = Int(b - a) + 1
        } else {
            guard let a = Self.parse(text) else { throw .invalidScenario("bad source address \(text)") }
            first = a
            count = 1
        }
        guard first >> 24 == 127, (UInt64(first) + UInt64(count) - 1) >> 24 == 127 else {
            throw .invalidScenario("source range \(text) must lie inside 127.0.0.0/8")
        }
    }

    static func parse(_ s: String) -> UInt32? {
        let parts = s.split(separator: ".")
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard let b = UInt8(p) else { return nil }
            v = v << 8 | UInt32(b)
        }
        return v
    }

    /// The i-th address (wrapping around), as dotted text.
    public func addressText(_ i: Int) -> String {
        let v = first + UInt32(i % count)
        return "\(v >> 24).\(v >> 16 & 255).\(v >> 8 & 255).\(v & 255)"
    }

    /// The i-th address (wrapping around) with port 0, for `bind` before `connect`.
    public func socketAddress(_ i: Int) throws -> SocketAddress {
        try SocketAddress(ipAddress: addressText(i), port: 0)
    }
}
