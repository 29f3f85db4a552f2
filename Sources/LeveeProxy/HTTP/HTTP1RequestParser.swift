import NIOCore
import NIOHTTP1

/// Parses a client's HTTP/1.x requests in place on the bytes read, into the parts NIO's decoder
/// would give (`HTTPServerRequestPart`), without its per-part boxing, callbacks and extra pipeline
/// handler (≈ 5 % of a proxied request's samples; see docs/benchmarks.md). Bodies come out as
/// slices of the read buffer.
///
/// As strict as llhttp's strict mode, and the smuggling checks stay in `RequestValidation`:
/// - lines end in CRLF (a bare LF or CR is refused), no obsolete line folding, no whitespace
///   before a field's colon, no control character in a value, a token for the method, visible
///   characters (and obs-text) in the target, `HTTP/` digit `.` digit, a method llhttp knows;
/// - a head whose framing `RequestValidation` refuses (both lengths, a repeated or malformed
///   `Content-Length`, `Transfer-Encoding` not ending in `chunked` or in HTTP/1.0) is passed on
///   and nothing after it is parsed: the handler answers 400 and closes;
/// - a head over the configured sizes is a `tooLarge` error (431), malformed syntax or chunking
///   an error (400); after an error nothing more is parsed.
/// Empty lines before a request line are skipped (RFC 9112 §2.2).
struct HTTP1RequestParser {
    /// Bounds on what is buffered for one head (the exact limits are `RequestValidation`'s).
    let maxHeadBytes: Int
    let maxFields: Int

    private var buffer = UnparsedBytes()
    private var body: MessageBodyDecoder
    private var fields: [HeadField] = []
    private var headEnd = SectionEndSearch()
    /// After an error or a head whose framing is refused: nothing more comes out.
    private var stopped = false

    init(limits: LimitsConfiguration) {
        // The request line, the fields and their line ends.
        maxHeadBytes = limits.maxRequestLineBytes + limits.maxHeaderBytes + 2 * (limits.maxHeaderCount + 2)
        maxFields = limits.maxHeaderCount
        body = MessageBodyDecoder(
            bareLineFeeds: false, maxTrailerBytes: limits.maxHeaderBytes, maxTrailerFields: limits.maxHeaderCount)
    }

    mutating func append(_ bytes: ByteBuffer) {
        if !stopped { buffer.append(bytes) }
    }

    /// The next part, or nil when more bytes are needed (or parsing stopped).
    mutating func next() throws -> HTTPServerRequestPart? {
        guard !stopped else { return nil }
        guard var input = buffer.take() else {
            guard body.endIsDue else { return nil }  // a request without a body ends with its head
            body.reset()
            return .end(nil)
        }
        defer { stopped ? buffer.removeAll() : buffer.keep(input) }
        do {
            if body.isIdle {
                return try parseHead(&input).map { .head($0) }
            }
            switch try body.next(&input, fields: &fields) {
            case nil: return nil
            case .body(let piece): return .body(piece)
            case .end(let trailers): return .end(trailers)
            }
        } catch {
            stopped = true
            throw error
        }
    }

    /// A head at the start of `input` (nil if incomplete), its body's framing set up.
    private mutating func parseHead(_ input: inout ByteBuffer) throws -> HTTPRequestHead? {
        while input.readableBytes >= 2, input.getInteger(at: input.readerIndex, as: UInt16.self) == 0x0D0A {
            input.moveReaderIndex(forwardBy: 2)  // an empty line before the request line
            headEnd.reset()
        }
        let ended = input.withUnsafeReadableBytes { raw in headEnd.hasEnd(in: raw, emptyAtStart: false) }
        guard ended else {
            if input.readableBytes > maxHeadBytes { throw MessageSyntaxError(reason: "request head too large", tooLarge: true) }
            return nil
        }
        headEnd.reset()
        fields.removeAll(keepingCapacity: true)
        let scan = try input.withUnsafeReadableBytes { raw in
            try RequestHeadScanner.scan(raw, maxFields: maxFields, fields: &fields)
        }
        guard let scan, scan.length <= maxHeadBytes else {
            if input.readableBytes > maxHeadBytes { throw MessageSyntaxError(reason: "request head too large", tooLarge: true) }
            return nil
        }
        let bytes = input.readSlice(length: scan.length)!
        let head = try bytes.withUnsafeReadableBytes { raw in
            let method = Self.method(raw[scan.method])
            // Methods llhttp knows (NIO's `HTTPMethod` cases), as before: anything else is a 400.
            if case .RAW = method { throw MessageSyntaxError(reason: "unknown method") }
            var headers = HTTPHeaders()
            headers.reserveCapacity(fields.count)
            for field in fields {
                headers.add(
                    name: String(decoding: raw[field.nameStart..<field.nameEnd], as: UTF8.self),
                    value: String(decoding: raw[field.valueStart..<field.valueEnd], as: UTF8.self))
            }
            return HTTPRequestHead(
                version: HTTPVersion(major: scan.major, minor: scan.minor), method: method,
                uri: String(decoding: raw[scan.target], as: UTF8.self), headers: headers)
        }
        // Where the body ends, judged as `RequestValidation` judges it (one set of smuggling rules).
        switch RequestValidation.framing(of: head) {
        case .success(.none): body.start(.fixed(0))
        case .success(.contentLength(let length)): body.start(.fixed(length))
        case .success(.chunked): body.start(.chunked)
        case .failure: stopped = true
        }
        return head
    }

    /// The method, without a `String` for the usual ones.
    private static func method(_ bytes: Slice<UnsafeRawBufferPointer>) -> HTTPMethod {
        switch bytes.count {
        case 3 where bytes.elementsEqual("GET".utf8): .GET
        case 3 where bytes.elementsEqual("PUT".utf8): .PUT
        case 4 where bytes.elementsEqual("HEAD".utf8): .HEAD
        case 4 where bytes.elementsEqual("POST".utf8): .POST
        default: HTTPMethod(rawValue: String(decoding: bytes, as: UTF8.self))
        }
    }
}

/// The grammar of a request head (RFC 9112 §3, §5), in one pass.
private enum RequestHeadScanner {
    struct Result {
        var length: Int
        var method: Range<Int>
        var target: Range<Int>
        var major: Int
        var minor: Int
    }

    /// A whole head (request line, fields, blank line), or nil if its end has not arrived.
    static func scan(_ raw: UnsafeRawBufferPointer, maxFields: Int, fields: inout [HeadField]) throws -> Result? {
        guard let (lineEnd, next) = try FieldScanner.line(in: raw, from: 0, bareLineFeeds: false) else { return nil }
        // request-line = method SP request-target SP HTTP-version
        var i = 0
        while i < lineEnd && raw[i].isTokenByte { i += 1 }
        let method = 0..<i
        guard i > 0, i < lineEnd, raw[i] == .space else { throw MessageSyntaxError(reason: "malformed request line") }
        i += 1
        let targetStart = i
        while i < lineEnd && raw[i] > 0x20 && raw[i] != 0x7F { i += 1 }
        let target = targetStart..<i
        guard i > targetStart, lineEnd - i == 9, raw[i] == .space, raw[i + 1] == UInt8(ascii: "H"),
            raw[i + 2] == UInt8(ascii: "T"), raw[i + 3] == UInt8(ascii: "T"), raw[i + 4] == UInt8(ascii: "P"),
            raw[i + 5] == UInt8(ascii: "/"), let major = raw[i + 6].decimalValue, raw[i + 7] == UInt8(ascii: "."),
            let minor = raw[i + 8].decimalValue
        else { throw MessageSyntaxError(reason: "malformed request line") }
        guard
            let length = try FieldScanner.scanFields(
                raw, from: next, bareLineFeeds: false, maxFields: maxFields, fields: &fields)
        else { return nil }
        return Result(length: length, method: method, target: target, major: major, minor: minor)
    }
}
