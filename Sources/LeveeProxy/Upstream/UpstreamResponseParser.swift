import NIOCore
import NIOHTTP1

/// Where one field of a parsed head lies in the head's bytes (offsets from their reader index).
struct HeadField {
    var nameStart: Int
    var nameEnd: Int
    var valueStart: Int
    var valueEnd: Int
}

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

    /// The value of the first field called `name` (lower case), as a `String` (tests, rare paths).
    func value(of name: StaticString) -> String? {
        bytes.withUnsafeReadableBytes { raw in
            for field in fields where raw[field.nameStart..<field.nameEnd].equalsFieldName(name) {
                return String(decoding: raw[field.valueStart..<field.valueEnd], as: UTF8.self)
            }
            return nil
        }
    }

    /// The fields as `HTTPHeaders` (for an HTTP/2 stream's response parts).
    var headers: HTTPHeaders {
        HTTPHeaders(rawFields(from: bytes, fields))
    }
}

/// Frames and parses HTTP/1.0 and 1.1 responses from a backend, working in place on the bytes
/// read: bodies come out as slices of the read buffer. Strict, because a response framed wrongly
/// would be mixed with the next one on a kept-alive connection: a malformed status line or field,
/// a folded line, a conflicting or malformed `Content-Length`, `Content-Length` beside
/// `Transfer-Encoding` (as nginx does), a transfer coding other than `chunked`, a `101` nobody asked
/// for, bad chunk framing, a head over `maxHeadBytes`: each is an `Invalid` error (502, and the
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

    struct Invalid: Error, CustomStringConvertible {
        let reason: String
        var description: String { "invalid response from the backend: \(reason)" }
    }

    /// The same bound as NIO's decoder on a head (and on the trailer section).
    static let maxHeadBytes = 80 * 1024
    static let maxFields = 1000
    static let maxChunkLineBytes = 4 * 1024

    private enum State {
        case head
        /// A body of known length (0: the end is due).
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The line end after a chunk's data.
        case chunkDataEnd
        case trailers
        /// No length: the body ends when the backend closes.
        case untilClose
    }

    private var state = State.head
    /// Bytes read and not yet consumed (nil when there are none, so a drained read buffer is freed).
    private var buffer: ByteBuffer?
    private var toHEAD = false
    private var keepAlive = false
    /// Reused from one head to the next (unique again once the last head is dropped).
    private var fields: [HeadField] = []

    /// Call for every request written, before its response can arrive: a response to HEAD has no body.
    mutating func expectResponse(toHEAD: Bool) {
        self.toHEAD = toHEAD
    }

    var hasBufferedBytes: Bool { (buffer?.readableBytes ?? 0) > 0 }

    /// Whether the response in progress ends when the backend closes (read until close).
    var endsAtClose: Bool {
        if case .untilClose = state { return true }
        return false
    }

    mutating func append(_ bytes: ByteBuffer) {
        guard var pending = buffer else {
            buffer = bytes
            return
        }
        buffer = nil  // so that `pending` is the only reference and the write need not copy
        pending.writeImmutableBuffer(bytes)
        buffer = pending
    }

    /// The next event, or nil when more bytes are needed.
    mutating func next() throws -> Event? {
        guard var input = buffer else {
            // With nothing buffered, only an end that is due can come out.
            guard case .fixed(remaining: 0) = state else { return nil }
            state = .head
            return .end(trailers: nil, reusable: keepAlive)
        }
        buffer = nil
        defer { buffer = input.readableBytes > 0 ? input : nil }
        while true {
            switch state {
            case .head:
                guard input.readableBytes > 0 else { return nil }
                switch try parseHead(&input) {
                case .none: return nil  // incomplete
                case .some(.none): continue  // an interim 1xx, skipped
                case .some(.some(let head)): return head
                }
            case .fixed(let remaining):
                if remaining == 0 {
                    state = .head
                    return .end(trailers: nil, reusable: keepAlive && input.readableBytes == 0)
                }
                guard input.readableBytes > 0 else { return nil }
                let count = min(remaining, input.readableBytes)
                state = .fixed(remaining: remaining - count)
                return .body(input.readSlice(length: count)!)
            case .chunkSize:
                guard let size = try readChunkSize(&input) else { return nil }
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard input.readableBytes > 0 else { return nil }
                let count = min(remaining, input.readableBytes)
                state = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
                return .body(input.readSlice(length: count)!)
            case .chunkDataEnd:
                guard let first = input.getInteger(at: input.readerIndex, as: UInt8.self) else { return nil }
                if first == .lf {
                    input.moveReaderIndex(forwardBy: 1)
                } else if first == .cr {
                    guard let second = input.getInteger(at: input.readerIndex + 1, as: UInt8.self) else { return nil }
                    guard second == .lf else { throw Invalid(reason: "a chunk's data does not end with a line end") }
                    input.moveReaderIndex(forwardBy: 2)
                } else {
                    throw Invalid(reason: "a chunk is longer than its size")
                }
                state = .chunkSize
            case .trailers:
                guard let trailers = try readTrailers(&input) else { return nil }
                state = .head
                return .end(trailers: trailers, reusable: keepAlive && input.readableBytes == 0)
            case .untilClose:
                guard input.readableBytes > 0 else { return nil }
                return .body(input.readSlice(length: input.readableBytes)!)
            }
        }
    }

    // MARK: head

    /// Parses a head at the start of `input`: nil if incomplete (input untouched) or an interim
    /// response (consumed); else the head event, framing set up.
    private mutating func parseHead(_ input: inout ByteBuffer) throws -> Event?? {
        fields.removeAll(keepingCapacity: true)
        let scan = try input.withUnsafeReadableBytes { raw in try HeadScanner.scan(raw, fields: &fields) }
        guard let scan else {
            if input.readableBytes > Self.maxHeadBytes { throw Invalid(reason: "head larger than \(Self.maxHeadBytes) bytes") }
            return .none
        }
        let code = scan.statusCode
        if code >= 100 && code < 200 {
            // The proxy answers `100 Continue` itself and does not pass on interim responses.
            guard code != 101 else { throw Invalid(reason: "101 Switching Protocols without an upgrade") }
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
            state = .fixed(remaining: 0)
        } else if scan.chunked {
            state = .chunkSize
        } else if let length = scan.contentLength {
            state = .fixed(remaining: length)
        } else {
            state = .untilClose
            keepAlive = false
        }
        toHEAD = false
        return .some(
            .head(
                UpstreamResponseHead(
                    version: HTTPVersion(major: 1, minor: scan.minorVersion), status: status, keepAlive: keepAlive,
                    bytes: bytes, fields: fields, connectionNamesFields: scan.connectionNamesFields)))
    }

    // MARK: chunks

    /// A chunk-size line (hex digits, optional extensions, which are ignored): nil if incomplete.
    private func readChunkSize(_ input: inout ByteBuffer) throws -> Int? {
        let parsed: (size: Int, length: Int)? = try input.withUnsafeReadableBytes { raw in
            guard let lf = raw.firstIndex(of: .lf) else {
                if raw.count > Self.maxChunkLineBytes { throw Invalid(reason: "chunk-size line too long") }
                return nil
            }
            var end = lf
            if end > 0 && raw[end - 1] == .cr { end -= 1 }
            var size = 0
            var i = 0
            while i < end, let digit = raw[i].hexValue {
                guard i < 15 else { throw Invalid(reason: "chunk size too large") }
                size = size << 4 | digit
                i += 1
            }
            guard i > 0 else { throw Invalid(reason: "malformed chunk size") }
            while i < end && (raw[i] == .space || raw[i] == .tab) { i += 1 }
            if i < end {
                guard raw[i] == UInt8(ascii: ";") else { throw Invalid(reason: "malformed chunk size") }
                // Extensions: any field-value bytes up to the line end.
                for byte in raw[i..<end] where !byte.isFieldValueByte { throw Invalid(reason: "malformed chunk extension") }
            }
            return (size, lf + 1)
        }
        guard let parsed else { return nil }
        input.moveReaderIndex(forwardBy: parsed.length)
        return parsed.size
    }

    /// The trailer section after the last chunk, up to its blank line: nil if incomplete; the
    /// fields (nil if there are none) otherwise.
    private mutating func readTrailers(_ input: inout ByteBuffer) throws -> HTTPHeaders?? {
        fields.removeAll(keepingCapacity: true)
        let length = try input.withUnsafeReadableBytes { raw in try HeadScanner.scanFields(raw, from: 0, fields: &fields) }
        guard let length else {
            if input.readableBytes > Self.maxHeadBytes { throw Invalid(reason: "trailers larger than \(Self.maxHeadBytes) bytes") }
            return .none
        }
        let bytes = input.readSlice(length: length)!
        guard !fields.isEmpty else { return .some(nil) }
        return .some(HTTPHeaders(rawFields(from: bytes, fields)))
    }
}

/// Name-value pairs as `String`s (HTTP/2 response parts, trailers, tests).
private func rawFields(from bytes: ByteBuffer, _ fields: [HeadField]) -> [(String, String)] {
    bytes.withUnsafeReadableBytes { raw in
        fields.map {
            (String(decoding: raw[$0.nameStart..<$0.nameEnd], as: UTF8.self),
             String(decoding: raw[$0.valueStart..<$0.valueEnd], as: UTF8.self))
        }
    }
}

/// The grammar of a response head (RFC 9112 §4, §5), checked in one pass over its bytes.
private enum HeadScanner {
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

    typealias Invalid = UpstreamResponseParser.Invalid

    /// A whole head (status line, fields, blank line), or nil if its end has not arrived.
    static func scan(_ raw: UnsafeRawBufferPointer, fields: inout [HeadField]) throws -> Result? {
        guard let (lineEnd, next) = line(in: raw, from: 0) else { return nil }
        // status-line = "HTTP/1." DIGIT SP 3DIGIT [ SP reason-phrase ]
        guard lineEnd >= 12, raw[0] == UInt8(ascii: "H"), raw[1] == UInt8(ascii: "T"), raw[2] == UInt8(ascii: "T"),
            raw[3] == UInt8(ascii: "P"), raw[4] == UInt8(ascii: "/")
        else { throw Invalid(reason: "malformed status line") }
        guard raw[5] == UInt8(ascii: "1"), raw[6] == UInt8(ascii: "."), raw[7] == UInt8(ascii: "0") || raw[7] == UInt8(ascii: "1")
        else { throw Invalid(reason: "unsupported HTTP version") }
        guard raw[8] == .space, let d0 = raw[9].decimalValue, let d1 = raw[10].decimalValue, let d2 = raw[11].decimalValue,
            d0 >= 1
        else { throw Invalid(reason: "malformed status code") }
        var reason = lineEnd..<lineEnd
        if lineEnd > 12 {
            guard raw[12] == .space else { throw Invalid(reason: "malformed status code") }
            for byte in raw[13..<lineEnd] where !byte.isFieldValueByte { throw Invalid(reason: "malformed reason phrase") }
            reason = 13..<lineEnd
        }
        var result = Result(
            length: 0, minorVersion: Int(raw[7] - UInt8(ascii: "0")), statusCode: d0 * 100 + d1 * 10 + d2, reason: reason)
        guard let length = try scanFields(raw, from: next, fields: &fields) else { return nil }
        result.length = length
        try readFraming(raw, fields: fields, into: &result)
        return result
    }

    /// Field lines from `start` up to and including the blank line: the offset past it, or nil
    /// if it has not arrived. Appends each field's position to `fields`.
    static func scanFields(_ raw: UnsafeRawBufferPointer, from start: Int, fields: inout [HeadField]) throws -> Int? {
        var position = start
        while true {
            guard let (lineEnd, next) = line(in: raw, from: position) else { return nil }
            if lineEnd == position { return next }  // the blank line
            guard fields.count < UpstreamResponseParser.maxFields else { throw Invalid(reason: "too many fields") }
            // field-line = field-name ":" OWS field-value OWS; no whitespace before the colon and
            // no obsolete line folding (a line starting with whitespace).
            var i = position
            while i < lineEnd && raw[i].isTokenByte { i += 1 }
            guard i > position, i < lineEnd, raw[i] == UInt8(ascii: ":") else { throw Invalid(reason: "malformed field line") }
            let nameEnd = i
            i += 1
            while i < lineEnd && (raw[i] == .space || raw[i] == .tab) { i += 1 }
            let valueStart = i
            var valueEnd = i
            while i < lineEnd {
                let byte = raw[i]
                guard byte.isFieldValueByte else { throw Invalid(reason: "malformed field value") }
                i += 1
                if byte != .space && byte != .tab { valueEnd = i }
            }
            fields.append(HeadField(nameStart: position, nameEnd: nameEnd, valueStart: valueStart, valueEnd: valueEnd))
            position = next
        }
    }

    /// The line starting at `start`: where its content ends (before CRLF or LF) and where the next
    /// line starts; nil if its end has not arrived. (A CR elsewhere is refused by the grammar of
    /// what the line holds.)
    private static func line(in raw: UnsafeRawBufferPointer, from start: Int) -> (end: Int, next: Int)? {
        guard start < raw.count, let lf = raw[start...].firstIndex(of: .lf) else { return nil }
        let end = lf > start && raw[lf - 1] == .cr ? lf - 1 : lf
        return (end, lf + 1)
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
                    guard !item.isEmpty, item.count <= 18, item.allSatisfy({ $0.decimalValue != nil }) else {
                        throw Invalid(reason: "malformed Content-Length")
                    }
                    let length = item.reduce(0) { $0 * 10 + $1.decimalValue! }
                    if let known = result.contentLength, known != length { throw Invalid(reason: "conflicting Content-Length values") }
                    result.contentLength = length
                }
            case 17 where name.equalsFieldName("transfer-encoding"):
                transferEncodings += 1
                guard transferEncodings == 1, value.equalsFieldName("chunked") else {
                    throw Invalid(reason: "unsupported Transfer-Encoding")
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
            throw Invalid(reason: "both Content-Length and Transfer-Encoding")
        }
    }
}

/// Calls `body` with each item of a comma-separated list, spaces and tabs around it removed.
func forEachListItem(_ value: Slice<UnsafeRawBufferPointer>, _ body: (Slice<UnsafeRawBufferPointer>) throws -> Void) rethrows {
    var start = value.startIndex
    while start <= value.endIndex {
        let comma = value[start...].firstIndex(of: UInt8(ascii: ",")) ?? value.endIndex
        var lower = start
        var upper = comma
        while lower < upper && (value[lower] == .space || value[lower] == .tab) { lower += 1 }
        while upper > lower && (value[upper - 1] == .space || value[upper - 1] == .tab) { upper -= 1 }
        try body(value[lower..<upper])
        start = comma + 1
    }
}

extension Collection<UInt8> {
    /// Whether these bytes equal the lower-case `name` ignoring ASCII case (field names, tokens).
    func equalsFieldName(_ name: StaticString) -> Bool {
        name.withUTF8Buffer { target in
            guard count == target.count else { return false }
            var i = 0
            for byte in self {
                let folded = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                if folded != target[i] { return false }
                i += 1
            }
            return true
        }
    }
}

extension UInt8 {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")

    var decimalValue: Int? { self >= 0x30 && self <= 0x39 ? Int(self - 0x30) : nil }

    var hexValue: Int? {
        switch self {
        case 0x30...0x39: Int(self - 0x30)
        case 0x41...0x46: Int(self - 0x41 + 10)
        case 0x61...0x66: Int(self - 0x61 + 10)
        default: nil
        }
    }

    /// A `tchar` of RFC 9110 §5.6.2 (field names, methods).
    var isTokenByte: Bool {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// A byte a field value may hold: visible characters, obs-text, space and tab (no CR, LF, NUL
    /// or other control character that could end or split a head).
    var isFieldValueByte: Bool { self == .tab || (self >= 0x20 && self != 0x7F) }
}
