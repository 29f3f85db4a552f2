import NIOCore
import NIOHTTP1

/// What an upstream connection reports to the client-side handler it currently serves.
/// Both live on the same event loop, so calls are plain synchronous method calls.
protocol UpstreamDelegate: AnyObject {
    func upstreamResponseHead(_ head: UpstreamResponseHead, from upstream: UpstreamHandler)
    func upstreamResponseBody(_ body: ByteBuffer, from upstream: UpstreamHandler)
    /// `reusable`: the backend keeps the connection open and sent nothing after this response.
    func upstreamResponseEnd(_ trailers: HTTPHeaders?, reusable: Bool, from upstream: UpstreamHandler)
    func upstreamReadComplete(from upstream: UpstreamHandler)
    /// The connection failed or closed while serving this delegate.
    func upstreamFailed(_ error: (any Error)?, from upstream: UpstreamHandler)
    func upstreamWritabilityChanged(from upstream: UpstreamHandler)
    /// Whether the client side can take more bytes (back-pressure toward the upstream).
    var downstreamIsWritable: Bool { get }
}

/// The handler of an upstream (proxy → backend) connection: parses responses in place
/// (`UpstreamResponseParser`), hands their parts to the current delegate, and only reads from the
/// backend while the client can take more bytes.
///
/// Requests are written as bytes (there is no NIO request encoder on this pipeline): a request's
/// head, its end and a small body leave in one buffer and one pipeline write. The parser is told
/// each request's method (a response to HEAD has no body).
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Never
    typealias OutboundOut = ByteBuffer

    let backend: Backend
    /// The exchange this connection is serving; nil while idle in the pool. Strong, and cleared
    /// by `park`, `close` and a failure: a weak reference would move the client handler's
    /// reference count to a side table, and every retain and release of it would take the slow path.
    var delegate: (any UpstreamDelegate)?
    /// Called once when the channel closes (the pool drops it from its idle list).
    var onClose: ((UpstreamHandler) -> Void)?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    /// While parked: when the connection is closed unless taken again.
    private var idleDeadline: NIODeadline?
    /// One timer for the idle deadline, rescheduled only when the deadline comes earlier than its
    /// firing time (re-armed when it fires early), so parking and unparking per request
    /// schedules nothing.
    private var idleTimer = EarliestDeadlineTimer()

    private var parser = UpstreamResponseParser()
    /// Bytes of the current request not yet written (see `flush`).
    private var pending: ByteBuffer?
    private var chunked = false

    /// Bodies up to this size are copied behind the head rather than written as another buffer.
    static let coalesceLimit = 8 * 1024

    init(backend: Backend) {
        self.backend = backend
    }

    /// Kept from channel events: asked for every pooled connection taken (the channel's own
    /// `isActive` is a locked read through an existential).
    private(set) var isActive = false
    var isWritable: Bool { context?.channel.isWritable ?? false }
    /// Every channel here uses the default allocator; kept to avoid `context.channel` per buffer.
    private let allocator = ByteBufferAllocator()

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        isActive = context.channel.isActive
    }

    func channelActive(context: ChannelHandlerContext) {
        isActive = true
        context.fireChannelActive()
    }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let delegate else {
            // Bytes from an idle backend connection: nothing asked for them, so it cannot be reused.
            context.close(promise: nil)
            return
        }
        parser.append(Self.unwrapInboundIn(data))
        do {
            // The delegate is asked again after every event: it may park or close this connection,
            // or (pipelining) hand it the next request, whose response these bytes cannot be.
            var current: (any UpstreamDelegate)? = delegate
            while let delegate = current, let event = try parser.next() {
                switch event {
                case .head(let head): delegate.upstreamResponseHead(head, from: self)
                case .body(let body): delegate.upstreamResponseBody(body, from: self)
                case .end(let trailers, let reusable):
                    delegate.upstreamResponseEnd(trailers, reusable: reusable, from: self)
                    if parser.hasBufferedBytes {
                        // Bytes after the response (`reusable` was false): nothing asked for them.
                        parser = UpstreamResponseParser()
                        context.close(promise: nil)
                        return
                    }
                }
                current = self.delegate === delegate ? delegate : nil
            }
        } catch {
            errorCaught(context: context, error: error)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete(from: self)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let delegate = self.delegate
        self.delegate = nil
        delegate?.upstreamFailed(error, from: self)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        cancelIdleTimer()
        if let delegate, parser.endsAtClose {
            // A body without a length ends with the connection.
            delegate.upstreamResponseEnd(nil, reusable: false, from: self)
        }
        if let delegate {
            self.delegate = nil
            delegate.upstreamFailed(nil, from: self)
        }
        let onClose = self.onClose
        self.onClose = nil
        onClose?(self)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(from: self)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if let delegate, !delegate.downstreamIsWritable {
            pendingRead = true
            return
        }
        context.read()
    }

    /// Re-issues a read held back while the client was not writable.
    func resumeReading() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    /// Stages a request head already in wire form (`bytes`, see `requestHeadBytes`) answering
    /// `request` (its method tells the parser whether the response has a body); `chunkedBody`:
    /// its fields say `Transfer-Encoding: chunked`.
    func sendHead(_ bytes: ByteBuffer, for request: HTTPRequestHead, chunkedBody: Bool) {
        parser.expectResponse(toHEAD: request.method == .HEAD)
        chunked = chunkedBody
        if var buffer = takePending() {
            buffer.writeImmutableBuffer(bytes)
            pending = buffer
        } else {
            pending = bytes
        }
    }

    /// A request head as bytes: the request line, the fields `writeFields` adds, the blank line;
    /// written into `buffer` (empty; a recycled one saves its allocation) or a new one.
    static func requestHeadBytes(
        method: HTTPMethod, uri: String, into buffer: consuming ByteBuffer? = nil, writeFields: (inout WireFields) -> Void
    ) -> ByteBuffer {
        var fields = WireFields(buffer: buffer ?? ByteBufferAllocator().buffer(capacity: 512))
        fields.buffer.writeString(method.rawValue)
        fields.buffer.writeStaticString(" ")
        fields.buffer.writeString(uri)
        fields.buffer.writeStaticString(" HTTP/1.1\r\n")
        writeFields(&fields)
        fields.buffer.writeStaticString("\r\n")
        return fields.buffer
    }

    /// Stages or writes a part of the request; `flush` sends it. The head's fields already say how
    /// the body is framed (`Content-Length` or `Transfer-Encoding: chunked`).
    func send(_ part: HTTPClientRequestPart) {
        guard let context else { return }
        switch part {
        case .head(let head):
            let bytes = Self.requestHeadBytes(method: head.method, uri: head.uri) {
                for (name, value) in head.headers { $0.add(name: name, value: value) }
            }
            sendHead(bytes, for: head, chunkedBody: head.headers.isChunked)
        case .body(let body):
            let size = body.readableBytes
            guard size > 0 else { return }  // an empty chunk would end a chunked body
            if !chunked && pending == nil {
                context.write(NIOAny(body), promise: nil)  // a streamed body: passed on as it came
                return
            }
            var buffer = takePending() ?? allocator.buffer(capacity: 16)
            if chunked { buffer.writeChunkSize(size) }
            if size <= Self.coalesceLimit, case .byteBuffer(let bytes) = body {
                buffer.writeImmutableBuffer(bytes)
            } else {
                if buffer.readableBytes > 0 { context.write(NIOAny(buffer), promise: nil) }
                context.write(NIOAny(body), promise: nil)
                buffer.clear()
            }
            if chunked { buffer.writeStaticString("\r\n") }
            pending = buffer
        case .end(let trailers):
            guard chunked else { return }
            var buffer = takePending() ?? allocator.buffer(capacity: 8)
            buffer.writeLastChunk(trailers: trailers)
            pending = buffer
            chunked = false
        }
    }

    func flush() {
        guard let context else { return }
        if let buffer = takePending(), buffer.readableBytes > 0 { context.write(NIOAny(buffer), promise: nil) }
        context.flush()
    }

    /// The staged buffer, no longer referenced here (so appending to it does not copy it).
    private func takePending() -> ByteBuffer? {
        defer { pending = nil }
        return pending
    }

    /// Closes the connection without telling the delegate (it already knows).
    func close() {
        delegate = nil
        pending = nil
        cancelIdleTimer()
        context?.close(promise: nil)
    }

    /// Parks the connection in the pool: it closes itself after `idleTimeout` unless taken.
    func park(idleTimeout: TimeAmount) {
        delegate = nil
        guard let context else { return }
        let deadline = NIODeadline.now() + idleTimeout
        idleDeadline = deadline
        wakeUp(by: deadline)
        if pendingRead {
            pendingRead = false
            context.read()  // keep reading while idle so that a close by the backend is noticed
        }
    }

    /// Takes the connection out of the pool for `delegate`.
    func unpark(for delegate: any UpstreamDelegate) {
        idleDeadline = nil
        self.delegate = delegate
    }

    private func wakeUp(by deadline: NIODeadline) {
        // Checked before the closure is made: a later deadline (the usual case) allocates nothing.
        guard deadline < idleTimer.firesAt, let context else { return }
        // Strong: `close` cancels the timer (and a weak capture would slow this object's refcounting).
        idleTimer.arm(by: deadline, on: context.eventLoop) { self.idleTimerFired() }
    }

    private func idleTimerFired() {
        idleTimer.fired()
        guard let idleDeadline else { return }  // in use: parking arms it again
        if idleDeadline <= .now() {
            close()
        } else {
            wakeUp(by: idleDeadline)
        }
    }

    private func cancelIdleTimer() {
        idleDeadline = nil
        idleTimer.cancel()
    }
}

@available(*, unavailable)
extension UpstreamHandler: Sendable {}

