/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, or a single address).
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    /// The network address, already masked to `prefixLength`.
    public let network: ClientAddress
    public let prefixLength: Int

    /// Builds a network; the address is masked so `10.1.2.3/8` equals `10.0.0.0/8`.
    public init(network: ClientAddress, prefixLength: Int) {
        let maxLength = network.isIPv4 ? 32 : 128
        self.prefixLength = max(0, min(maxLength, prefixLength))
        self.network = network.masked(to: self.prefixLength)
    }

    /// Parses `a.b.c.d/n`, `x::y/n`, or a bare address (a /32 or /128). Nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let address = ClientAddress(parts[0]) else { return nil }
        let maxLength = address.isIPv4 ? 32 : 128
        var length = maxLength
        if parts.count == 2 {
            guard let n = Int(parts[1]), n >= 0, n <= maxLength, parts[1].allSatisfy(\.isASCII) else { return nil }
            length = n
        }
        self.init(network: address, prefixLength: length)
    }

    /// Whether `address` lies in this network (an IPv4 address never matches an IPv6 network).
    @inline(__always)
    public func contains(_ address: ClientAddress) -> Bool {
        switch (network, address) {
        case (.v4, .v4), (.v6, .v6): return address.masked(to: prefixLength) == network
        default: return false
        }
    }

    public var description: String { "\(network)/\(prefixLength)" }
}

/// A set of networks, checked in order (a handful in practice: load balancers, office ranges).
public struct NetworkList: Hashable, Sendable {
    public var networks: [CIDR]
    public init(_ networks: [CIDR] = []) { self.networks = networks }

    public var isEmpty: Bool { networks.isEmpty }

    @inline(__always)
    public func contains(_ address: ClientAddress) -> Bool {
        for n in networks where n.contains(address) { return true }
        return false
    }
}
