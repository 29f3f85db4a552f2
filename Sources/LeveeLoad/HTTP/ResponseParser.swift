import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal HTTP/1.x response parser for the load generator's hot path: it reads the status line
/// and only the headers that matter (length, chunking, connection, rate-limit fields) and skips bodies.
/// A value type without I/O: the connection handler feeds it bytes and acts on what it returns.
public struct ResponseParser: Sendable {
    /// What the generator keeps of one response.
    public struct Response: Sendable, Equatable {
        public var status: Int
        /// False when the server asked to close (or spoke HTTP/1.0 without keep-alive).
        public var keepAlive: Bool
        public var retryAfter: Bool
        /// A `RateLimit`, `RateLimit-Policy` or `X-RateLimit-*` field was present.
        public var rateLimit: Bool
        public var bodyBytes: Int

        /// Notes a header field the report counts (the same names the byte parser looks for), for
        /// responses that arrive already parsed (HTTP/2).
        mutating func note(headerName name: String) {
            let lower = name.lowercased()
            if lower == "retry-after" {
                retryAfter = true
            } else if lower.hasPrefix("ratelimit") || lower.hasPrefix("x-ratelimit") {
                rateLimit = true
            }
        }
    }

    /// A response the generator cannot frame.
    public enum ParseError: Error, Equatable {
        case malformedStatusLine, malformedChunk, lineTooLong
    }

    enum State: Sendable, Equatable {
        case statusLine, headers, fixedBody(Int), chunkSize, chunkData(Int), chunkDataEnd, trailers, untilClose
    }

    var state: State = .statusLine
    var carry: [UInt8] = []
    var response = Response(status: 0, keepAlive: true, retryAfter: false, rateLimit: false, bodyBytes: 0)
    var contentLength: Int?
    var chunked = false
    var http10 = false
    var http10KeepAlive = false
    /// Set before sending a HEAD request: its response has no body whatever its headers say.
    public var expectNoBody = false

    static let maxLine = 64 * 1024

    /// A parser waiting for a status line.
    public init() {}

    /// True between responses (nothing of the next one read yet).
    public var isIdle: Bool { state == .statusLine && carry.isEmpty }

    /// Consumes bytes from `buffer` up to the end of one response and returns it when complete
    /// (call again while bytes remain), or nil when more bytes are needed.
    public mutating func parse(_ buffer: inout ByteBuffer) throws(ParseError) -> Response? {
        var result: Result<(Int, Response?), ParseError> = .success((0, nil))
        buffer.withUnsafeReadableBytes { raw in  // unsafe: hot-path byte scan; the pointer never leaves this closure
            result = self.consume(raw)
        }
        let (used, response) = try result.get()
        buffer.moveReaderIndex(forwardBy: used)
        return response
    }

    /// The peer closed the connection: completes a response whose body runs until close.
    public mutating func connectionClosed() -> Response? {
        guard state == .untilClose else { return nil }
        response.keepAlive = false
        return finish()
    }

    mutating func consume(_ raw: UnsafeRawBufferPointer) -> Result<(Int, Response?), ParseError> {  // borrowed view of the read buffer: parsed in place, never stored
        var i = 0
        let n = raw.count
        while i < n {
            switch state {
            case .statusLine, .headers, .chunkSize, .chunkDataEnd, .trailers:
                let j: Int
                if let base = raw.baseAddress, let hit = memchr(base + i, 0x0A, n - i) {
                    j = base.distance(to: UnsafeRawPointer(hit))  // borrowed view of the read buffer: parsed in place, never stored
                } else {
                    j = n
                }
                if j == n {
                    if carry.count + (n - i) > Self.maxLine { return .failure(.lineTooLong) }
                    carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[i..<n]))  // borrowed view of the read buffer: parsed in place, never stored
                    return .success((n, nil))
                }
                var done: Response?
                var failure: ParseError?
                if carry.isEmpty {
                    var end = j
                    if end > i && raw[end - 1] == 0x0D { end -= 1 }
                    (done, failure) = line(UnsafeRawBufferPointer(rebasing: raw[i..<end]))  // borrowed view of the read buffer: parsed in place, never stored
                } else {
                    carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[i..<j]))  // borrowed view of the read buffer: parsed in place, never stored
                    if carry.last == 0x0D { carry.removeLast() }
                    let copy = carry
                    carry.removeAll(keepingCapacity: true)
                    copy.withUnsafeBytes { (done, failure) = line($0) }  // borrowed view of the read buffer: parsed in place, never stored
                }
                i = j + 1
                if let failure { return .failure(failure) }
                if let done { return .success((i, done)) }
            case .fixedBody(let remaining):
                let take = min(remaining, n - i)
                i += take
                response.bodyBytes += take
                if take == remaining { return .success((i, finish())) }
                state = .fixedBody(remaining - take)
            case .chunkData(let remaining):
                let take = min(remaining, n - i)
                i += take
                response.bodyBytes += take
                state = take == remaining ? .chunkDataEnd : .chunkData(remaining - take)
            case .untilClose:
                response.bodyBytes += n - i
                i = n
            }
        }
        return .success((i, nil))
    }

    /// One line without its CRLF.
    mutating func line(_ l: UnsafeRawBufferPointer) -> (Response?, ParseError?) {  // borrowed view of the read buffer: parsed in place, never stored
        switch state {
        case .statusLine:
            if l.isEmpty { return (nil, nil) }  // tolerate a stray CRLF between responses
            // "HTTP/1.x SSS ..."
            guard l.count >= 12, l[0] == 0x48, l[4] == 0x2F, l[5] == 0x31, l[6] == 0x2E, l[8] == 0x20,
                  let s = Self.digits(l[9], l[10], l[11]) else { return (nil, .malformedStatusLine) }
            response = Response(status: s, keepAlive: true, retryAfter: false, rateLimit: false, bodyBytes: 0)
            http10 = l[7] == 0x30
            http10KeepAlive = false
            contentLength = nil
            chunked = false
            state = .headers
        case .headers:
            if l.isEmpty { return (endOfHeaders(), nil) }
            header(l)
        case .chunkSize:
            var size = 0
            var digits = 0
            for b in l {
                let v: Int
                switch b {
                case 0x30...0x39: v = Int(b) - 0x30
                case 0x61...0x66: v = Int(b) - 0x61 + 10
                case 0x41...0x46: v = Int(b) - 0x41 + 10
                default: v = -1
                }
                if v < 0 { break }
                size = size * 16 + v
                digits += 1
                if digits > 15 { return (nil, .malformedChunk) }
            }
            if digits == 0 { return (nil, .malformedChunk) }
            state = size == 0 ? .trailers : .chunkData(size)
        case .chunkDataEnd:
            if !l.isEmpty { return (nil, .malformedChunk) }
            state = .chunkSize
        case .trailers:
            if l.isEmpty { return (finish(), nil) }
        case .fixedBody, .chunkData, .untilClose:
            break
        }
        return (nil, nil)
    }

    mutating func endOfHeaders() -> Response? {
        if http10 && !http10KeepAlive { response.keepAlive = false }
        let s = response.status
        if s >= 100 && s < 200 {  // interim response: the real one follows
            state = .statusLine
            return nil
        }
        if expectNoBody || s == 204 || s == 304 { return finish() }
        if chunked {
            state = .chunkSize
        } else if let length = contentLength {
            if length == 0 { return finish() }
            state = .fixedBody(length)
        } else {
            response.keepAlive = false
            state = .untilClose
        }
        return nil
    }

    mutating func finish() -> Response {
        state = .statusLine
        return response
    }

    mutating func header(_ l: UnsafeRawBufferPointer) {  // borrowed view of the read buffer: parsed in place, never stored
        // Only names starting with c, t, r or x matter; most headers are skipped on their first byte.
        guard let first = l.first else { return }
        switch first | 0x20 {
        case 0x63, 0x74, 0x72, 0x78: break
        default: return
        }
        var colon = 0
        while colon < l.count && l[colon] != 0x3A { colon += 1 }
        guard colon < l.count else { return }
        let name = UnsafeRawBufferPointer(rebasing: l[0..<colon])  // borrowed view of the read buffer: parsed in place, never stored
        var v = colon + 1
        while v < l.count && (l[v] == 0x20 || l[v] == 0x09) { v += 1 }
        let value = UnsafeRawBufferPointer(rebasing: l[v..<l.count])  // borrowed view of the read buffer: parsed in place, never stored
        switch name.count {
        case 14 where Self.equals(name, "content-length"):
            var length = 0
            for b in value {
                guard b >= 0x30 && b <= 0x39 else { break }
                length = length &* 10 &+ Int(b - 0x30)
            }
            contentLength = length
        case 17 where Self.equals(name, "transfer-encoding"):
            chunked = Self.contains(value, "chunked")
        case 10 where Self.equals(name, "connection"):
            if Self.contains(value, "close") { response.keepAlive = false }
            if Self.contains(value, "keep-alive") { http10KeepAlive = true }
        case 11 where Self.equals(name, "retry-after"):
            response.retryAfter = true
        default:
            if Self.hasPrefix(name, "ratelimit") || Self.hasPrefix(name, "x-ratelimit") { response.rateLimit = true }
        }
    }

    static func digits(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int? {
        guard (0x30...0x39).contains(a), (0x30...0x39).contains(b), (0x30...0x39).contains(c) else { return nil }
        return Int(a - 0x30) * 100 + Int(b - 0x30) * 10 + Int(c - 0x30)
    }

    /// ASCII case-insensitive comparison against a lowercase literal.
    static func equals(_ bytes: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {  // borrowed view of the read buffer: parsed in place, never stored
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        let p = lower.utf8Start
        for i in 0..<bytes.count where bytes[i] | 0x20 != p[i] | 0x20 { return false }
        return true
    }

    static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {  // borrowed view of the read buffer: parsed in place, never stored
        guard bytes.count >= lower.utf8CodeUnitCount else { return false }
        return equals(UnsafeRawBufferPointer(rebasing: bytes[0..<lower.utf8CodeUnitCount]), lower)  // borrowed view of the read buffer: parsed in place, never stored
    }

    static func contains(_ bytes: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {  // borrowed view of the read buffer: parsed in place, never stored
        let m = lower.utf8CodeUnitCount
        guard bytes.count >= m else { return false }
        for start in 0...(bytes.count - m)
        where equals(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + m)]), lower) { return true }  // borrowed view of the read buffer: parsed in place, never stored
        return false
    }
}
