import NIOCore
import NIOHTTP1

/// How `ProxyConnectionHandler` sends responses: as bytes on an HTTP/1 connection, or as NIO
/// response parts on an HTTP/2 stream (for NIOHTTP2's codec).
///
/// On HTTP/1 the pipeline has no response encoder: the handler frames and serializes responses
/// itself (as NIO's `HTTPResponseEncoder` would), so that a response costs one pipeline write of a
/// plain `ByteBuffer` instead of three boxed parts through one more handler, and the head, a
/// small body and the end leave in one buffer (one `write` instead of a `writev`). Measured in
/// docs/benchmarks.md (proxy and filter side-by-side).
struct ResponseOutput {
    enum Mode {
        case bytes
        case parts
    }

    let mode: Mode
    /// The default allocator, as every channel here uses (saves `context.channel` per buffer).
    private let allocator = ByteBufferAllocator()
    /// Bytes of the current response not yet passed to the channel (bytes mode).
    private var pending: ByteBuffer?
    private var chunked = false
    /// A response to HEAD: the head advertises the framing, but no body or chunked end is sent.
    private var bodySuppressed = false
    /// The last response's buffer, kept to be cleared and reused by the next head: once the
    /// channel has written it, this is its only reference and `clear` keeps its storage (two
    /// allocations fewer per response; a buffer still queued in the channel is not touched).
    private var spare: ByteBuffer?
    /// Larger buffers (big coalesced bodies) are not kept: memory per idle connection stays small.
    static let spareLimit = 4 * 1024

    /// Bodies up to this size are copied behind the head rather than written as a second buffer.
    static let coalesceLimit = 8 * 1024

    init(mode: Mode) {
        self.mode = mode
    }

    /// Writes and flushes `100 Continue` (the final response follows).
    mutating func continueInterim(version: HTTPVersion, context: ChannelHandlerContext) {
        switch mode {
        case .bytes:
            drain(context)
            let line: StaticString = version.minor == 0 ? "HTTP/1.0 100 Continue\r\n\r\n" : "HTTP/1.1 100 Continue\r\n\r\n"
            context.writeAndFlush(NIOAny(allocator.buffer(staticString: line)), promise: nil)
        case .parts:
            context.writeAndFlush(
                NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: .continue))), promise: nil)
        }
    }

    /// Writes (or stages) the head of a response from the upstream: its fields without hop-by-hop
    /// ones (see `UpstreamResponseHead.forEachForwardedField`), plus `extra` (the filter's
    /// rate-limit fields) and `Via`, and the `Connection` field that `connection` gives for whether
    /// the upstream sent a `Content-Length`. On HTTP/1 the fields are copied from the upstream's
    /// bytes straight into the head's bytes.
    mutating func proxiedHead(
        _ upstream: UpstreamResponseHead, version: HTTPVersion, requestMethod: HTTPMethod, extra: HTTPHeaders, via: String?,
        connection: (_ hasContentLength: Bool) -> String?, context: ChannelHandlerContext
    ) {
        guard mode == .bytes else {
            var headers = HTTPHeaders()
            headers.reserveCapacity(upstream.fields.count + extra.count + 2)
            let hasContentLength = upstream.forEachForwardedField(dropContentLength: false) { name, value in
                headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
            }
            for (name, value) in extra { headers.add(name: name, value: value) }
            if let via { headers.add(name: "via", value: via) }
            // Hop-by-hop fields are gone, so `add` cannot duplicate a `Connection` field.
            if let value = connection(hasContentLength) { headers.add(name: "connection", value: value) }
            context.write(
                NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: upstream.status, headers: headers))),
                promise: nil)
            return
        }
        drain(context)
        let status = upstream.status
        bodySuppressed = requestMethod == .HEAD || requestMethod == .CONNECT
        let noBody = requestMethod == .CONNECT || !status.mayHaveResponseBody
        var fields = WireFields(buffer: reusableBuffer(capacity: 512 + upstream.bytes.readableBytes))
        fields.buffer.writeStatusLine(version: version, status: status)
        let hasContentLength = upstream.forEachForwardedField(dropContentLength: noBody) { name, value in
            fields.buffer.writeField(name: name, value: value)
        }
        for (name, value) in extra { fields.add(name: name, value: value) }
        if let via { fields.add(name: "via", value: via) }
        if let value = connection(hasContentLength) { fields.add(name: "connection", value: value) }
        // Framing as NIO's encoder does it (RFC 9112 §6): no body for 1xx, 204, 304 and CONNECT;
        // otherwise Content-Length if given, else chunked on HTTP/1.1, else the body ends with the
        // connection (HTTP/1.0). The upstream's `Transfer-Encoding` went with the hop-by-hop fields.
        chunked = !noBody && !hasContentLength && version.major == 1 && version.minor >= 1
        if chunked { fields.add(name: "transfer-encoding", value: "chunked") }
        if bodySuppressed { chunked = false }
        fields.buffer.writeStaticString("\r\n")
        pending = fields.buffer
    }

    /// Writes (or stages) a whole local answer (the filter's, or the proxy's own errors): its
    /// sendable fields (see `String.isSendableFieldName`) but any framing or `Connection` field,
    /// then `Content-Length`, `connection` if given, and the body unless the request was HEAD or
    /// the status has none. Returns the body bytes sent; `end` completes it.
    mutating func local(
        _ response: LocalResponse, version: HTTPVersion, requestMethod: HTTPMethod, connection: String?,
        context: ChannelHandlerContext
    ) -> Int {
        let code = response.status.code
        let bodyAllowed = requestMethod != .HEAD && code >= 200 && code != 204 && code != 304
        let body = bodyAllowed ? response.body.readableBytes : 0
        guard mode == .bytes else {
            var headers = response.headers.sendableFields()
            if code != 204 && code != 304 { headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes)) }
            if let connection { headers.replaceOrAdd(name: "connection", value: connection) }
            context.write(
                NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: response.status, headers: headers))),
                promise: nil)
            if body > 0 { context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(response.body))), promise: nil) }
            return body
        }
        drain(context)
        chunked = false
        bodySuppressed = false
        var fields = WireFields(buffer: reusableBuffer(capacity: 256 + body))
        fields.buffer.writeStatusLine(version: version, status: response.status)
        for (name, value) in response.headers where name.isSendableFieldName && value.isSendableFieldValue {
            switch name.utf8.count {
            case 10 where name.isFieldName("connection"): continue
            case 14 where name.isFieldName("content-length"): continue
            case 17 where name.isFieldName("transfer-encoding"): continue
            default: fields.add(name: name, value: value)
            }
        }
        if code != 204 && code != 304 { fields.add(name: "content-length", value: String(response.body.readableBytes)) }
        if let connection { fields.add(name: "connection", value: connection) }
        fields.buffer.writeStaticString("\r\n")
        if body > 0 { fields.buffer.writeImmutableBuffer(response.body) }
        pending = fields.buffer
        return body
    }

    /// Writes (or stages) a piece of the body.
    mutating func body(_ body: ByteBuffer, context: ChannelHandlerContext) {
        guard mode == .bytes else {
            context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
            return
        }
        let size = body.readableBytes
        if bodySuppressed || size == 0 { return }  // an empty chunk would end a chunked body
        if chunked {
            var buffer = takePending() ?? allocator.buffer(capacity: size + 16)
            buffer.writeChunkSize(size)
            if size <= Self.coalesceLimit {
                buffer.writeImmutableBuffer(body)
                buffer.writeStaticString("\r\n")
                pending = buffer
            } else {
                context.write(NIOAny(buffer), promise: nil)
                context.write(NIOAny(body), promise: nil)
                pending = allocator.buffer(staticString: "\r\n")
            }
        } else if size <= Self.coalesceLimit, var buffer = takePending() {
            buffer.writeImmutableBuffer(body)
            pending = buffer
        } else {
            drain(context)
            context.write(NIOAny(body), promise: nil)
        }
    }

    /// Writes the end of the response (and whatever is staged) and flushes.
    mutating func end(_ trailers: HTTPHeaders?, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard mode == .bytes else {
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(trailers)), promise: promise)
            return
        }
        let wasChunked = chunked
        chunked = false
        bodySuppressed = false
        guard var buffer = takePending() ?? (wasChunked || promise != nil ? allocator.buffer(capacity: 8) : nil) else {
            context.flush()  // everything was written already (a streamed body)
            return
        }
        if wasChunked {
            buffer.writeLastChunk(trailers: trailers)
        }
        if buffer.capacity <= Self.spareLimit { spare = buffer }
        context.writeAndFlush(NIOAny(buffer), promise: promise)
    }

    /// An empty buffer for a new head: the spare one if the channel is done with it.
    private mutating func reusableBuffer(capacity: Int) -> ByteBuffer {
        guard var buffer = spare else { return allocator.buffer(capacity: capacity) }
        spare = nil  // so that this is the storage's only reference if the channel released it
        buffer.clear(minimumCapacity: capacity)
        return buffer
    }

    /// Flushes what was written, staged bytes included (a streamed response's progress).
    mutating func flush(_ context: ChannelHandlerContext) {
        drain(context)
        context.flush()
    }

    private mutating func drain(_ context: ChannelHandlerContext) {
        guard let buffer = takePending() else { return }
        context.write(NIOAny(buffer), promise: nil)
    }

    /// The staged buffer, no longer referenced here (so appending to it does not copy it).
    private mutating func takePending() -> ByteBuffer? {
        defer { pending = nil }
        return pending
    }
}

extension ByteBuffer {
    fileprivate mutating func writeStatusLine(version: HTTPVersion, status: HTTPResponseStatus) {
        if version.major == 1 && version.minor == 1 {
            switch status {
            case .ok: writeStaticString("HTTP/1.1 200 OK\r\n"); return
            case .tooManyRequests: writeStaticString("HTTP/1.1 429 Too Many Requests\r\n"); return
            case .forbidden: writeStaticString("HTTP/1.1 403 Forbidden\r\n"); return
            case .notFound: writeStaticString("HTTP/1.1 404 Not Found\r\n"); return
            default: writeStaticString("HTTP/1.1 ")
            }
        } else {
            writeString("HTTP/\(version.major).\(version.minor) ")
        }
        writeString(String(status.code))
        writeStaticString(" ")
        writeString(status.reasonPhrase)
        writeStaticString("\r\n")
    }
}
