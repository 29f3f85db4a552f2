import NIOCore

/// Fired inbound once the ClientHello of a connection has been read (before TLS consumes it).
public struct TLSClientHelloEvent: Sendable {
    /// The parsed hello, or nil when the first bytes were not a parsable ClientHello.
    public var hello: ClientHello?
    /// JA4 of the hello, when parsed.
    public var ja4: JA4Fingerprint?
}

/// Sits in front of the TLS handler, reads the ClientHello as it arrives, fires a
/// `TLSClientHelloEvent` with its JA4, then passes every byte on untouched and removes itself.
/// It never alters the stream: a hello it cannot parse is still handed to TLS, which rejects it.
public final class ClientHelloSniffer: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    /// Hellos larger than this are passed on without a fingerprint (bounds what one client can make us buffer).
    public static let maximumBufferedBytes = 32 * 1024

    private var buffered: ByteBuffer?
    private var done = false
    private let onHello: ((TLSClientHelloEvent) -> Void)?

    /// - Parameter onHello: called on the event loop with the event, before it is fired (lets the
    ///   pipeline record the JA4 for handlers that are added only after the handshake).
    public init(onHello: ((TLSClientHelloEvent) -> Void)? = nil) {
        self.onHello = onHello
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else {
            context.fireChannelRead(data)
            return
        }
        var chunk = unwrapInboundIn(data)
        if buffered == nil {
            buffered = chunk
        } else {
            buffered!.writeBuffer(&chunk)
        }
        let bytes = buffered!.readableBytesView
        let event: TLSClientHelloEvent?
        if bytes.count > Self.maximumBufferedBytes {
            event = TLSClientHelloEvent(hello: nil, ja4: nil)
        } else {
            do {
                if let hello = try ClientHello.parse(records: Array(bytes)) {
                    event = TLSClientHelloEvent(hello: hello, ja4: JA4Fingerprint(hello))
                } else {
                    event = nil  // need more bytes
                }
            } catch {
                event = TLSClientHelloEvent(hello: nil, ja4: nil)
            }
        }
        guard let event else { return }
        done = true
        onHello?(event)
        context.fireUserInboundEventTriggered(event)
        let all = buffered!
        buffered = nil
        context.fireChannelRead(wrapInboundOut(all))
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        // Hand on whatever arrived so that the next handler sees the same bytes we did.
        if let rest = buffered, !done {
            buffered = nil
            done = true
            context.fireChannelRead(wrapInboundOut(rest))
        }
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension ClientHelloSniffer: Sendable {}
