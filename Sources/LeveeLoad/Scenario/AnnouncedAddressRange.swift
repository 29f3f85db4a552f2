import Levee

/// Client addresses that are announced (in `X-Forwarded-For` or a PROXY protocol header) rather
/// than bound: any IPv4 or IPv6 range, since no packet goes to or from them — the connection
/// itself still comes from 127.0.0.1. IPv6 ranges make it possible to test what a filter does with
/// an IPv6 flood: by default the addresses are consecutive (a /64 holds them all); with `per`,
/// each address is in its own `/per` network (`per = 64`: one address per /64 of the range).
public struct AnnouncedAddressRange: Sendable, Equatable {
    public enum Family: Sendable, Equatable {
        case v4
        case v6
    }

    public let family: Family
    /// The network's address as 128 bits (an IPv4 network in the low 32 bits of `low`).
    private let high: UInt64
    private let low: UInt64
    /// The range's prefix length (`2001:db8::/48`: 48).
    public let prefixLength: Int
    /// Each address in its own network of this prefix length (nil: consecutive addresses).
    public let per: Int?
    /// Distinct addresses before the sequence wraps around.
    public let count: Int

    private var width: Int { family == .v4 ? 32 : 128 }

    /// Parses `2001:db8::/48`, `203.0.113.0/24` or a single address; `per` (at least the prefix
    /// length, at most the address width) spreads the addresses one per `/per` network.
    public init(_ text: String, per: Int? = nil) throws(LoadError) {
        let addressText: Substring
        let length: Int?
        if let slash = text.firstIndex(of: "/") {
            addressText = text[..<slash]
            guard let bits = Int(text[text.index(after: slash)...]) else { throw .invalidScenario("bad announce range \(text)") }
            length = bits
        } else {
            addressText = text[...]
            length = nil
        }
        // The core's address parser: 128 bits, IPv4 in its IPv4-mapped form.
        guard let address = LimiterKey(address: addressText) else {
            throw .invalidScenario("bad announce address \(addressText) (an IPv4 or IPv6 address, e.g. 2001:db8::/48)")
        }
        family = address.isIPv4 ? .v4 : .v6
        var high = address.isIPv4 ? 0 : address.high
        var low = address.isIPv4 ? address.low & 0xFFFF_FFFF : address.low
        let width = family == .v4 ? 32 : 128
        let prefix = length ?? width
        guard (0...width).contains(prefix) else { throw .invalidScenario("bad prefix length in announce range \(text)") }
        if let per, !(prefix...width).contains(per) {
            throw .invalidScenario("announce_per must be between the range's prefix length \(prefix) and \(width)")
        }
        // The network address: host bits cleared.
        let hostBits = width - prefix
        if family == .v4 {
            low &= hostBits >= 32 ? 0 : ~((UInt64(1) << UInt64(hostBits)) - 1) & 0xFFFF_FFFF
        } else if hostBits >= 64 {
            low = 0
            high &= hostBits >= 128 ? 0 : ~((UInt64(1) << UInt64(hostBits - 64)) - 1)
        } else if hostBits > 0 {
            low &= ~((UInt64(1) << UInt64(hostBits)) - 1)
        }
        self.high = high
        self.low = low
        self.prefixLength = prefix
        let spread = per == width ? nil : per  // one address per /128 (or /32) is just consecutive
        self.per = spread
        // Addresses step through the range's host bits (skipping the all-zero one) or its /per networks.
        let steps = (spread ?? width) - prefix
        let distinct = steps >= 62 ? Int.max / 2 : 1 << steps
        self.count = spread == nil && hostBits > 0 ? distinct - 1 : distinct
    }

    /// The i-th address (wrapping around), as text (`2001:db8:0:5::1`, `203.0.113.7`).
    public func addressText(_ i: Int) -> String {
        let n = UInt64(i % count)
        var (high, low) = (self.high, self.low)
        // Consecutive: network + 1 + n. Spread: network + n × 2^(width − per) + 1 (the host part ::1).
        let shift = per.map { width - $0 } ?? 0
        if per == nil && width - prefixLength == 0 {
            // A single address.
        } else {
            let offset = per == nil ? n + 1 : n
            if shift >= 64 {
                high &+= offset << UInt64(shift - 64)
            } else {
                let (sum, carry) = low.addingReportingOverflow(offset << UInt64(shift))
                low = sum
                high &+= (shift == 0 ? 0 : offset >> UInt64(64 - shift)) &+ (carry ? 1 : 0)
            }
            if per != nil {
                let (sum, carry) = low.addingReportingOverflow(1)
                low = sum
                if carry { high &+= 1 }
            }
        }
        // The core's text (RFC 5952 for IPv6), as the proxy prints client addresses.
        let key = family == .v4 ? LimiterKey(ipv4: UInt32(truncatingIfNeeded: low)) : LimiterKey(ipv6High: high, low: low)
        return key.description
    }
}
