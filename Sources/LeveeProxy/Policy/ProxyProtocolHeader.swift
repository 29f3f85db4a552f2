import NIOCore

/// Fired as a user inbound event by `ProxyProtocolDecoder` when a PROXY protocol (v1 or v2)
/// header has been read at the start of a connection. The HTTP pipeline records `source` into
/// `RequestContext.proxyProtocolSource`; the filter decides whether to believe it.
public struct ProxyProtocolHeader: Sendable {
    /// The original client, as announced by the previous hop (nil for `LOCAL`/`UNKNOWN`).
    public var source: SocketAddress?
    /// The address the original client connected to.
    public var destination: SocketAddress?

    public init(source: SocketAddress?, destination: SocketAddress?) {
        self.source = source
        self.destination = destination
    }
}
