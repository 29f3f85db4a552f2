import NIOCore

/// What TLS termination learned about one client connection, shared (on its event loop) by the
/// handlers of the connection and of each of its HTTP/2 streams, so that every request's
/// `RequestContext` carries `isTLS` and the JA4 of the connection's ClientHello.
final class TLSConnectionInfo {
    /// JA4 of the ClientHello, once read (nil if it could not be parsed).
    var ja4: String?
    /// The protocol ALPN settled on (`h2`, `http/1.1`), nil before the handshake or without ALPN.
    var negotiatedProtocol: String?
    /// The deadlines of the connection's HTTP/2 streams (made by the first stream).
    private var deadlines: StreamDeadlines?

    /// The client's address and its text form, read once per connection (every HTTP/2 stream's
    /// handler asked the channel and formatted the address again: ≈ 1 % of an HTTP/2 request).
    private var peer: (address: SocketAddress?, ip: String?)?

    func peer(of channel: any Channel) -> (address: SocketAddress?, ip: String?) {
        if let peer { return peer }
        let address = channel.remoteAddress
        let made = (address, address?.ipAddress)
        peer = made
        return made
    }

    func streamDeadlines(on eventLoop: any EventLoop) -> StreamDeadlines {
        if let deadlines { return deadlines }
        let made = StreamDeadlines(eventLoop: eventLoop)
        deadlines = made
        return made
    }

    /// False for a cleartext HTTP/2 (h2c) connection, which keeps the same per-connection state.
    let isTLS: Bool

    init(isTLS: Bool = true) {
        self.isTLS = isTLS
    }
}

@available(*, unavailable)
extension TLSConnectionInfo: Sendable {}
