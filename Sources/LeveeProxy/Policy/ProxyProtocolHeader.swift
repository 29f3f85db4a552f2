import NIOCore

/// The addresses a PROXY protocol (v1 or v2) header announced for a connection. Fired as a user
/// inbound event by `ProxyProtocolDecoder`; `nil` addresses mean `UNKNOWN` / `LOCAL` (a health
/// check from the load balancer itself).
public struct ProxyProtocolHeader: Sendable {
    public var source: SocketAddress?
    public var destination: SocketAddress?
    public init(source: SocketAddress?, destination: SocketAddress?) {
        self.source = source
        self.destination = destination
    }
}
