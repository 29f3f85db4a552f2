import NIOHTTP1

/// Which forwarding header a trusted hop uses to name the client.
public enum ForwardingHeader: String, Sendable, Equatable, CaseIterable {
    case xForwardedFor = "x-forwarded-for"
    case forwarded = "forwarded"
    case none = "none"
}

/// Who the client is, and how we know.
public struct ClientIdentity: Sendable, Equatable {
    /// Where the address came from.
    public enum Source: String, Sendable, Equatable {
        case socket, proxyProtocol = "proxy-protocol", xForwardedFor = "x-forwarded-for", forwarded
    }

    /// The client's address (nil only for Unix-domain sockets without any header).
    public var address: ClientAddress?
    public var source: Source
    /// The request carried a forwarding header or PROXY protocol address that was not believed
    /// because it did not come from a trusted hop.
    public var ignoredUntrustedForwarding: Bool

    public init(address: ClientAddress?, source: Source, ignoredUntrustedForwarding: Bool = false) {
        self.address = address
        self.source = source
        self.ignoredUntrustedForwarding = ignoredUntrustedForwarding
    }
}

/// Finds the client's address behind zero or more trusted proxies.
///
/// The rule is "rightmost untrusted hop": start from the TCP peer; while the current hop is a
/// trusted proxy, step one hop to the left (PROXY protocol source first, then the forwarding
/// header from right to left). The first untrusted address is the client. Anything an untrusted
/// peer claims is ignored (and reported through `ignoredUntrustedForwarding`), because anyone can
/// write any `X-Forwarded-For` they like.
public struct ClientIdentifier: Sendable, Equatable {
    public var trustedProxies: NetworkList
    public var header: ForwardingHeader

    public init(trustedProxies: NetworkList = NetworkList(), header: ForwardingHeader = .xForwardedFor) {
        self.trustedProxies = trustedProxies
        self.header = header
    }

    public func identify(_ request: RequestContext) -> ClientIdentity {
        let peer = request.socketAddress.flatMap(ClientAddress.init)
        var current = peer
        var source = ClientIdentity.Source.socket
        var ignored = false

        if let pp = request.proxyProtocolSource {
            if let c = current, trustedProxies.contains(c), let announced = ClientAddress(pp) {
                current = announced
                source = .proxyProtocol
            } else {
                ignored = true
            }
        }

        let name: String
        switch header {
        case .none: return ClientIdentity(address: current, source: source, ignoredUntrustedForwarding: ignored)
        case .xForwardedFor: name = "X-Forwarded-For"
        case .forwarded: name = "Forwarded"
        }
        let values = request.head.headers[name]
        if values.isEmpty { return ClientIdentity(address: current, source: source, ignoredUntrustedForwarding: ignored) }
        guard let c = current, trustedProxies.contains(c) else {
            return ClientIdentity(address: current, source: source, ignoredUntrustedForwarding: true)
        }
        let hops = header == .forwarded ? ForwardedHeaderParser.forwarded(values) : ForwardedHeaderParser.xForwardedFor(values)
        for hop in hops.reversed() {
            // An element we cannot read ends the walk: the trusted hop to its right is the best we know.
            guard let address = hop else { break }
            current = address
            source = header == .forwarded ? .forwarded : .xForwardedFor
            if !trustedProxies.contains(address) { break }
        }
        return ClientIdentity(address: current, source: source, ignoredUntrustedForwarding: ignored)
    }
}
