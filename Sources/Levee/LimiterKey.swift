/// What a keyed limiter counts against: a client address, a network, a user id, an API key.
///
/// A key is 128 bits plus a kind, built without allocating:
/// - IPv4 and IPv6 addresses are stored exactly (IPv4 as its IPv4-mapped IPv6 form
///   `::ffff:a.b.c.d`, so a dual-stack socket and an IPv4 socket give the same key);
/// - integers (user or tenant ids) are stored exactly;
/// - byte strings and strings are reduced to a 128-bit digest with the standard library's
///   SipHash, whose seed is random per process, so nobody outside the process can pick strings
///   that collide.
///
/// Tables never store keys: ``KeyedRateLimiter`` keeps a position hash and a 64-bit
/// verification tag computed from the key with its own random seeds.
public struct LimiterKey: Hashable, Sendable, CustomStringConvertible {
    /// What the 128 bits hold.
    public enum Kind: UInt8, Sendable, Hashable {
        /// An IPv6 address, or an IPv4 address in IPv4-mapped form.
        case address = 1
        /// An integer identifier in `low`.
        case integer = 2
        /// A digest of bytes or a string.
        case digest = 3
    }

    /// The upper 64 bits (network prefix of an address).
    public let high: UInt64
    /// The lower 64 bits.
    public let low: UInt64
    /// What the bits hold; keys of different kinds are never equal.
    public let kind: Kind

    /// Creates a key from its raw parts.
    @inlinable
    public init(high: UInt64, low: UInt64, kind: Kind) {
        self.high = high
        self.low = low
        self.kind = kind
    }

    /// The IPv4 address whose value in host order is `address` (`a.b.c.d` is `a<<24 | b<<16 | c<<8 | d`).
    @inlinable
    public init(ipv4 address: UInt32) {
        self.init(high: 0, low: 0x0000_FFFF_0000_0000 | UInt64(address), kind: .address)
    }

    /// The IPv4 address `a.b.c.d`.
    @inlinable
    public init(ipv4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self.init(ipv4: UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d))
    }

    /// The IPv6 address whose 16 bytes in network order are `high` (first 8) and `low` (last 8),
    /// read as big-endian integers. An IPv4-mapped address equals the plain IPv4 key.
    @inlinable
    public init(ipv6High high: UInt64, low: UInt64) {
        self.init(high: high, low: low, kind: .address)
    }

    /// The IPv6 address in `bytes` (16 bytes in network order, e.g. `sin6_addr`).
    /// - Precondition: `bytes.count == 16`.
    @inlinable
    public init(ipv6Bytes bytes: UnsafeRawBufferPointer) {  // borrowed bytes are hashed in place, never stored
        precondition(bytes.count == 16, "an IPv6 address has 16 bytes")
        self.init(
            ipv6High: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            low: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }

    /// An integer identifier (user, tenant, route number …).
    @inlinable
    public init(_ id: UInt64) {
        self.init(high: 0, low: id, kind: .integer)
    }

    /// A digest of `bytes` (an API key, a cookie value, a fingerprint).
    public init(bytes: UnsafeRawBufferPointer) {  // borrowed bytes are hashed in place, never stored
        var first = Hasher()
        first.combine(0xA5 as UInt8)
        first.combine(bytes: bytes)
        var second = Hasher()
        second.combine(0x5A as UInt8)
        second.combine(bytes: bytes)
        self.init(high: UInt64(UInt(bitPattern: first.finalize())),
                  low: UInt64(UInt(bitPattern: second.finalize())), kind: .digest)
    }

    /// A digest of the bytes of `bytes` (contiguous collections are hashed in place).
    public init(bytes: some Collection<UInt8>) {
        if let key = bytes.withContiguousStorageIfAvailable({ LimiterKey(bytes: UnsafeRawBufferPointer($0)) }) {  // borrowed bytes are hashed in place, never stored
            self = key
        } else {
            self = LimiterKey(bytes: Array(bytes))
        }
    }

    /// A digest of the UTF-8 bytes of `string` (no allocation for native strings).
    public init(_ string: String) {
        var string = string
        self = string.withUTF8 { LimiterKey(bytes: UnsafeRawBufferPointer($0)) }  // borrowed bytes are hashed in place, never stored
    }

    /// Whether this is an IPv4 address (in IPv4-mapped form).
    public var isIPv4: Bool {
        kind == .address && high == 0 && low >> 32 == 0x0000_FFFF
    }

    /// The network of an address key: the first `prefixLength` bits kept, the rest zero —
    /// counted within IPv4 (0…32) for IPv4 keys and within IPv6 (0…128) otherwise, so
    /// `network(prefixLength: 24)` of `192.0.2.7` is `192.0.2.0` and `64` of an IPv6 key is its /64.
    /// Keys that are not addresses are returned unchanged.
    @inlinable
    public func network(prefixLength: Int) -> LimiterKey {
        guard kind == .address else { return self }
        if high == 0 && low >> 32 == 0x0000_FFFF {
            let bits = min(max(prefixLength, 0), 32)
            let mask: UInt64 = bits == 0 ? 0 : (0xFFFF_FFFF << (32 - bits)) & 0xFFFF_FFFF
            return LimiterKey(high: 0, low: 0x0000_FFFF_0000_0000 | (low & mask), kind: .address)
        }
        let bits = min(max(prefixLength, 0), 128)
        let highMask: UInt64 = bits >= 64 ? .max : (bits == 0 ? 0 : .max << (64 - bits))
        let lowMask: UInt64 = bits <= 64 ? 0 : (bits == 128 ? .max : .max << (128 - bits))
        return LimiterKey(high: high & highMask, low: low & lowMask, kind: .address)
    }

    /// `192.0.2.7`, `2001:db8::1` (RFC 5952: the longest run of two or more zero groups, the
    /// first of equal runs, written `::`), `#42` or `digest:…` (for logs and top-talker lists).
    public var description: String {
        switch kind {
        case .address:
            if isIPv4 {
                let v = UInt32(truncatingIfNeeded: low)
                return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
            }
            let words = (0..<8).map { i -> UInt64 in (i < 4 ? high : low) >> (48 - 16 * UInt64(i % 4)) & 0xFFFF }
            var best = (start: 0, length: 0)
            var run = (start: 0, length: 0)
            for (i, word) in words.enumerated() {
                if word == 0 {
                    run = run.length == 0 ? (i, 1) : (run.start, run.length + 1)
                    if run.length > best.length { best = run }
                } else {
                    run = (0, 0)
                }
            }
            let text = { (range: Range<Int>) in range.map { String(words[$0], radix: 16) }.joined(separator: ":") }
            guard best.length >= 2 else { return text(0..<8) }
            return text(0..<best.start) + "::" + text((best.start + best.length)..<8)
        case .integer:
            return "#\(low)"
        case .digest:
            return "digest:" + String(high, radix: 16) + String(low, radix: 16)
        }
    }
}
