import NIOCore
import NIOHTTP1

/// A backend's response head, parsed in place: its bytes are a slice of what was read (no copy)
/// and its fields are positions in them, so that the proxy copies the fields it forwards without
/// making a `String` of each (NIO's decoder made two per field, plus boxed parts: ≈ 6 % of an
/// HTTPS request's samples, see docs/benchmarks.md).
struct UpstreamResponseHead {
    var version: HTTPVersion
    var status: HTTPResponseStatus
    /// Whether the backend keeps the connection open after this response (its version,
    /// `Connection`, and a body that is not delimited by the close).
    var keepAlive: Bool
    /// The head's bytes, status line to blank line.
    var bytes: ByteBuffer
    var fields: [HeadField]
    /// `Connection` names a field besides `close` and `keep-alive` (that field is hop-by-hop too).
    var connectionNamesFields: Bool
}

/// Frames and parses HTTP/1.0 and 1.1 responses from a backend, working in place on the bytes
/// read: bodies come out as slices of the read buffer. Strict, because a response framed wrongly
/// would be mixed with the next one on a kept-alive connection: a malformed status line or field,
/// a folded line, a conflicting or malformed `Content-Length`, `Content-Length` beside
/// `Transfer-Encoding` (as nginx does), a transfer coding other than `chunked`, a `101` nobody asked
/// for, bad chunk framing, a head over `maxHeadBytes`: each is a `MessageSyntaxError` (502, and the
/// connection is closed). Lines may end in CRLF or a bare LF (RFC 9112 §2.2); a bare CR is refused.
///
/// Pull-style (`append`, then `next` until nil) so that the handler calls its delegate between
/// steps, never from inside the parser: a delegate may hand this connection a new request.
struct UpstreamResponseParser {
    enum Event {
        case head(UpstreamResponseHead)
        case body(ByteBuffer)
        /// `reusable`: the connection may carry another request (kept alive, nothing left over).
        case end(trailers: HTTPHeaders?, reusable: Bool)
    }

    /// The same bound as NIO's decoder on a head (and on the trailer section).
    static let maxHeadBytes = 80 * 1024
    static let maxFields = 1000

    private var buffer = UnparsedBytes()
    private var body = MessageBodyDecoder(bareLineFeeds: true, maxTrailerBytes: maxHeadBytes, maxTrailerFields: maxFields)
    private var toHEAD = false
    private var keepAlive = false
    /// Reused from one head to the next (unique again once the last head is dropped).
    private var fields: [HeadField] = []
    private var headEnd = SectionEndSearch()

    /// Call for every request written, before its response can arrive: a response to HEAD has no body.
    mutating func expectResponse(toHEAD: Bool) {
        self.toHEAD = toHEAD
    }

    var hasBufferedBytes: Bool { !buffer.isEmpty }

    /// Whether the response in progress ends when the backend closes (read until close).
    var endsAtClose: Bool { body.endsAtClose }

    mutating func append(_ bytes: ByteBuffer) { buffer.append(bytes) }

    /// The next event, or nil when more bytes are needed.
    mutating func next() throws -> Event? {
        guard var input = buffer.take() else {
            // With nothing buffered, only an end that is due can come out.
            guard body.endIsDue else { return nil }
            body.reset()
            return .end(trailers: nil, reusable: keepAlive)
        }
        defer { buffer.keep(input) }
        while body.isIdle {
            guard input.readableBytes > 0 else { return nil }
            switch try parseHead(&input) {
            case .none: return nil  // incomplete
            case .some(.none): continue  // an interim 1xx, skipped
            case .some(.some(let head)): return head
            }
        }
        switch try body.next(&input, fields: &fields) {
        case nil: return nil
        case .body(let piece): return .body(piece)
        case .end(let trailers): return .end(trailers: trailers, reusable: keepAlive && input.readableBytes == 0)
        }
    }

    /// Parses a head at the start of `input`: nil if incomplete (input untouched) or an interim
    /// response (consumed); else the head event, the body's framing set up.
    private mutating func parseHead(_ input: inout ByteBuffer) throws -> Event?? {
        let ended = input.withUnsafeReadableBytes { raw in headEnd.hasEnd(in: raw, emptyAtStart: false) }
        guard ended else {
            if input.readableBytes > Self.maxHeadBytes {
                throw MessageSyntaxError(reason: "head larger than \(Self.maxHeadBytes) bytes", tooLarge: true)
            }
            return .none
        }
        headEnd.reset()
        fields.removeAll(keepingCapacity: true)
        let scan = try input.withUnsafeReadableBytes { raw in try StatusHeadScanner.scan(raw, fields: &fields) }
        guard let scan else {
            if input.readableBytes > Self.maxHeadBytes {
                throw MessageSyntaxError(reason: "head larger than \(Self.maxHeadBytes) bytes", tooLarge: true)
            }
            return .none
        }
        let code = scan.statusCode
        if code >= 100 && code < 200 {
            // The proxy answers `100 Continue` itself and does not pass on interim responses.
            guard code != 101 else { throw MessageSyntaxError(reason: "101 Switching Protocols without an upgrade") }
            input.moveReaderIndex(forwardBy: scan.length)
            return .some(nil)
        }
        let bytes = input.readSlice(length: scan.length)!
        var status = HTTPResponseStatus(statusCode: code)
        if case .custom = status {
            status = HTTPResponseStatus(
                statusCode: code,
                reasonPhrase: bytes.getString(at: bytes.readerIndex + scan.reason.lowerBound, length: scan.reason.count) ?? "")
        }
        keepAlive = scan.minorVersion == 1 ? !scan.connectionClose : scan.connectionKeepAlive && !scan.connectionClose
        if toHEAD || code == 204 || code == 304 {
            body.start(.fixed(0))
        } else if scan.chunked {
            body.start(.chunked)
        } else if let length = scan.contentLength {
            body.start(.fixed(length))
        } else {
            body.start(.untilClose)
            keepAlive = false
        }
        toHEAD = false
        return .some(
            .head(
                UpstreamResponseHead(
                    version: HTTPVersion(major: 1, minor: scan.minorVersion), status: status, keepAlive: keepAlive,
                    bytes: bytes, fields: fields, connectionNamesFields: scan.connectionNamesFields)))
    }
}

/// The grammar of a response head (RFC 9112 §4, §5) and its framing fields, in one pass.
private enum StatusHeadScanner {
    struct Result {
        var length: Int
        var minorVersion: Int
        var statusCode: Int
        var reason: Range<Int>
        var contentLength: Int?
        var chunked = false
        var connectionClose = false
        var connectionKeepAlive = false
        var connectionNamesFields = false
    }

    /// A whole head (status line, fields, blank line), or nil if its end has not arrived.
    static func scan(_ raw: UnsafeRawBufferPointer, fields: inout [HeadField]) throws -> Result? {
        guard let (lineEnd, next) = try FieldScanner.line(in: raw, from: 0, bareLineFeeds: true) else { return nil }
        // status-line = "HTTP/1." DIGIT SP 3DIGIT [ SP reason-phrase ]
        guard lineEnd >= 12, raw[0] == UInt8(ascii: "H"), raw[1] == UInt8(ascii: "T"), raw[2] == UInt8(ascii: "T"),
            raw[3] == UInt8(ascii: "P"), raw[4] == UInt8(ascii: "/")
        else { throw MessageSyntaxError(reason: "malformed status line") }
        guard raw[5] == UInt8(ascii: "1"), raw[6] == UInt8(ascii: "."), raw[7] == UInt8(ascii: "0") || raw[7] == UInt8(ascii: "1")
        else { throw MessageSyntaxError(reason: "unsupported HTTP version") }
        guard raw[8] == .space, let d0 = raw[9].decimalValue, let d1 = raw[10].decimalValue, let d2 = raw[11].decimalValue,
            d0 >= 1
        else { throw MessageSyntaxError(reason: "malformed status code") }
        var reason = lineEnd..<lineEnd
        if lineEnd > 12 {
            guard raw[12] == .space else { throw MessageSyntaxError(reason: "malformed status code") }
            for byte in raw[13..<lineEnd] where !byte.isFieldValueByte { throw MessageSyntaxError(reason: "malformed reason phrase") }
            reason = 13..<lineEnd
        }
        var result = Result(
            length: 0, minorVersion: Int(raw[7] - UInt8(ascii: "0")), statusCode: d0 * 100 + d1 * 10 + d2, reason: reason)
        guard
            let length = try FieldScanner.scanFields(
                raw, from: next, bareLineFeeds: true, maxFields: UpstreamResponseParser.maxFields, fields: &fields)
        else { return nil }
        result.length = length
        try readFraming(raw, fields: fields, into: &result)
        return result
    }

    /// `Content-Length`, `Transfer-Encoding` and `Connection`.
    private static func readFraming(_ raw: UnsafeRawBufferPointer, fields: [HeadField], into result: inout Result) throws {
        var transferEncodings = 0
        for field in fields {
            let name = raw[field.nameStart..<field.nameEnd]
            let value = raw[field.valueStart..<field.valueEnd]
            switch name.count {
            case 14 where name.equalsFieldName("content-length"):
                try forEachListItem(value) { item in
                    guard let length = item.decimalNumber else { throw MessageSyntaxError(reason: "malformed Content-Length") }
                    if let known = result.contentLength, known != length { throw MessageSyntaxError(reason: "conflicting Content-Length values") }
                    result.contentLength = length
                }
            case 17 where name.equalsFieldName("transfer-encoding"):
                transferEncodings += 1
                guard transferEncodings == 1, value.equalsFieldName("chunked") else {
                    throw MessageSyntaxError(reason: "unsupported Transfer-Encoding")
                }
                result.chunked = true
            case 10 where name.equalsFieldName("connection"):
                forEachListItem(value) { item in
                    if item.equalsFieldName("close") {
                        result.connectionClose = true
                    } else if item.equalsFieldName("keep-alive") {
                        result.connectionKeepAlive = true
                    } else if !item.isEmpty {
                        result.connectionNamesFields = true
                    }
                }
            default: break
            }
        }
        if result.chunked && result.contentLength != nil {
            throw MessageSyntaxError(reason: "both Content-Length and Transfer-Encoding")
        }
    }
}
