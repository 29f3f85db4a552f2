import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// HTTP/1 message syntax shared by the in-place request and response parsers (RFC 9110, 9112).

/// A message that breaks HTTP/1 syntax or a size bound, with what was wrong (logs, tests).
struct MessageSyntaxError: Error, Equatable, CustomStringConvertible {
    let reason: String
    /// A size bound was passed (a request gets 431) rather than the grammar broken (400).
    var tooLarge = false
    var description: String { reason }
}

/// Where one field of a parsed head lies in the head's bytes (offsets from their reader index).
struct HeadField {
    var nameStart: Int
    var nameEnd: Int
    var valueStart: Int
    var valueEnd: Int
}

enum FieldScanner {
    /// Field lines from `start` up to and including the blank line: the offset past it, or nil
    /// if it has not arrived. Appends each field's position to `fields` (at most `maxFields`).
    /// `field-line = field-name ":" OWS field-value OWS`: no whitespace before the colon, no
    /// obsolete line folding (a line starting with whitespace), no control character but tab.
    static func scanFields(
        _ raw: UnsafeRawBufferPointer, from start: Int, bareLineFeeds: Bool, maxFields: Int, fields: inout [HeadField]
    ) throws -> Int? {
        var position = start
        while true {
            guard let (lineEnd, next) = try line(in: raw, from: position, bareLineFeeds: bareLineFeeds) else { return nil }
            if lineEnd == position { return next }  // the blank line
            guard fields.count < maxFields else { throw MessageSyntaxError(reason: "too many fields", tooLarge: true) }
            var i = position
            while i < lineEnd && raw[i].isTokenByte { i += 1 }
            guard i > position, i < lineEnd, raw[i] == UInt8(ascii: ":") else {
                throw MessageSyntaxError(reason: "malformed field line")
            }
            let nameEnd = i
            i += 1
            while i < lineEnd && (raw[i] == .space || raw[i] == .tab) { i += 1 }
            let valueStart = i
            var valueEnd = i
            while i < lineEnd {
                let byte = raw[i]
                guard byte.isFieldValueByte else { throw MessageSyntaxError(reason: "malformed field value") }
                i += 1
                if byte != .space && byte != .tab { valueEnd = i }
            }
            fields.append(HeadField(nameStart: position, nameEnd: nameEnd, valueStart: valueStart, valueEnd: valueEnd))
            position = next
        }
    }

    /// The line starting at `start`: where its content ends (before CRLF, or a bare LF if
    /// `bareLineFeeds`) and where the next line starts; nil if its end has not arrived. A CR
    /// elsewhere is refused by the grammar of what the line holds.
    static func line(in raw: UnsafeRawBufferPointer, from start: Int, bareLineFeeds: Bool) throws -> (end: Int, next: Int)? {
        guard start < raw.count, let base = raw.baseAddress,
            let found = memchr(base + start, Int32(UInt8.lf), raw.count - start)
        else { return nil }
        let lf = base.distance(to: UnsafeRawPointer(found))
        if lf > start && raw[lf - 1] == .cr { return (lf - 1, lf + 1) }
        guard bareLineFeeds else { throw MessageSyntaxError(reason: "line not ended by CRLF") }
        return (lf, lf + 1)
    }

    /// Name-value pairs as `String`s.
    static func strings(from bytes: ByteBuffer, _ fields: [HeadField]) -> [(String, String)] {
        bytes.withUnsafeReadableBytes { raw in
            fields.map {
                (String(decoding: raw[$0.nameStart..<$0.nameEnd], as: UTF8.self),
                 String(decoding: raw[$0.valueStart..<$0.valueEnd], as: UTF8.self))
            }
        }
    }
}

/// Bytes read and not yet parsed. Empty means nil, so that a drained read buffer is released.
struct UnparsedBytes {
    private var bytes: ByteBuffer?

    var isEmpty: Bool { (bytes?.readableBytes ?? 0) == 0 }

    mutating func append(_ more: ByteBuffer) {
        guard var pending = bytes else {
            bytes = more  // the usual case: the read buffer itself, not a copy
            return
        }
        bytes = nil  // so that `pending` is the only reference and the write need not copy
        pending.writeImmutableBuffer(more)
        bytes = pending
    }

    /// The bytes, taken out (nil if none): parse them, then `keep` what is left.
    mutating func take() -> ByteBuffer? {
        defer { bytes = nil }
        return bytes
    }

    mutating func keep(_ rest: ByteBuffer) {
        bytes = rest.readableBytes > 0 ? rest : nil
    }

    mutating func removeAll() { bytes = nil }
}

/// Finds where a head or trailer section ends (its empty line) in bytes that arrive a few at a
/// time, looking at each byte once: the grammar is checked only when the whole section is there.
/// Rescanning the section on every read would be quadratic — a client sending its head in tiny
/// pieces could make the proxy scan it thousands of times. Offsets are from the reader index of
/// bytes that are appended to, never consumed, until the section is parsed (then `reset`).
struct SectionEndSearch {
    private var searched = 0

    mutating func reset() { searched = 0 }

    /// Whether `raw` holds an empty line (CRLF or a bare LF) after some line, or at its very start
    /// if `emptyAtStart` (a trailer section with no fields).
    mutating func hasEnd(in raw: UnsafeRawBufferPointer, emptyAtStart: Bool) -> Bool {
        guard let base = raw.baseAddress else { return false }
        if emptyAtStart, let first = raw.first {
            if first == .lf || (first == .cr && raw.count >= 2 && raw[1] == .lf) { return true }
        }
        var from = searched
        while from < raw.count, let found = memchr(base + from, Int32(UInt8.lf), raw.count - from) {
            let next = base.distance(to: UnsafeRawPointer(found)) + 1
            if next < raw.count && raw[next] == .lf { return true }
            if next + 1 < raw.count && raw[next] == .cr && raw[next + 1] == .lf { return true }
            if next + 1 >= raw.count {  // the line after this one has not fully arrived: look again here
                searched = next - 1
                return false
            }
            from = next
        }
        searched = raw.count
        return false
    }
}

/// A message body as it arrives: a known length, chunks (RFC 9112 §7.1; extensions ignored,
/// trailers kept), or everything until the peer closes. Pieces come out as slices of the input.
struct MessageBodyDecoder {
    enum Framing {
        case fixed(Int)
        case chunked
        case untilClose
    }

    enum Step {
        case body(ByteBuffer)
        case end(trailers: HTTPHeaders?)
    }

    static let maxChunkLineBytes = 4 * 1024

    private enum State {
        case idle
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The line end after a chunk's data.
        case chunkDataEnd
        case trailers
        case untilClose
    }

    private var state = State.idle
    private var trailerEnd = SectionEndSearch()
    let bareLineFeeds: Bool
    /// Bound on the trailer section (and its field count).
    let maxTrailerBytes: Int
    let maxTrailerFields: Int

    init(bareLineFeeds: Bool, maxTrailerBytes: Int, maxTrailerFields: Int) {
        self.bareLineFeeds = bareLineFeeds
        self.maxTrailerBytes = maxTrailerBytes
        self.maxTrailerFields = maxTrailerFields
    }

    var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    var endsAtClose: Bool {
        if case .untilClose = state { return true }
        return false
    }

    /// Whether the end is due without another byte (a body of length 0).
    var endIsDue: Bool {
        if case .fixed(remaining: 0) = state { return true }
        return false
    }

    mutating func start(_ framing: Framing) {
        trailerEnd.reset()
        switch framing {
        case .fixed(let length): state = .fixed(remaining: length)
        case .chunked: state = .chunkSize
        case .untilClose: state = .untilClose
        }
    }

    mutating func reset() { state = .idle }

    /// The next piece or the end (then idle); nil if more bytes are needed. `fields`: scratch space.
    mutating func next(_ input: inout ByteBuffer, fields: inout [HeadField]) throws -> Step? {
        while true {
            switch state {
            case .idle:
                return nil
            case .fixed(let remaining):
                if remaining == 0 {
                    state = .idle
                    return .end(trailers: nil)
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
                if first == .lf && bareLineFeeds {
                    input.moveReaderIndex(forwardBy: 1)
                } else if first == .cr {
                    guard let second = input.getInteger(at: input.readerIndex + 1, as: UInt8.self) else { return nil }
                    guard second == .lf else { throw MessageSyntaxError(reason: "a chunk's data does not end with a line end") }
                    input.moveReaderIndex(forwardBy: 2)
                } else {
                    throw MessageSyntaxError(reason: "a chunk is longer than its size")
                }
                state = .chunkSize
            case .trailers:
                guard let trailers = try readTrailers(&input, fields: &fields) else { return nil }
                state = .idle
                return .end(trailers: trailers)
            case .untilClose:
                guard input.readableBytes > 0 else { return nil }
                return .body(input.readSlice(length: input.readableBytes)!)
            }
        }
    }

    /// A chunk-size line (hex digits, optional extensions): nil if incomplete.
    private func readChunkSize(_ input: inout ByteBuffer) throws -> Int? {
        let parsed: (size: Int, length: Int)? = try input.withUnsafeReadableBytes { raw in
            guard let (end, next) = try FieldScanner.line(in: raw, from: 0, bareLineFeeds: bareLineFeeds) else {
                if raw.count > Self.maxChunkLineBytes { throw MessageSyntaxError(reason: "chunk-size line too long") }
                return nil
            }
            var size = 0
            var i = 0
            while i < end, let digit = raw[i].hexValue {
                guard i < 15 else { throw MessageSyntaxError(reason: "chunk size too large") }
                size = size << 4 | digit
                i += 1
            }
            guard i > 0 else { throw MessageSyntaxError(reason: "malformed chunk size") }
            while i < end && (raw[i] == .space || raw[i] == .tab) { i += 1 }
            if i < end {
                guard raw[i] == UInt8(ascii: ";") else { throw MessageSyntaxError(reason: "malformed chunk size") }
                for byte in raw[i..<end] where !byte.isFieldValueByte {
                    throw MessageSyntaxError(reason: "malformed chunk extension")
                }
            }
            return (size, next)
        }
        guard let parsed else { return nil }
        input.moveReaderIndex(forwardBy: parsed.length)
        return parsed.size
    }

    /// The trailer section, up to its blank line: nil if incomplete; its fields (nil if none).
    private mutating func readTrailers(_ input: inout ByteBuffer, fields: inout [HeadField]) throws -> HTTPHeaders?? {
        fields.removeAll(keepingCapacity: true)
        let ended = input.withUnsafeReadableBytes { raw in trailerEnd.hasEnd(in: raw, emptyAtStart: true) }
        guard ended else {
            if input.readableBytes > maxTrailerBytes {
                throw MessageSyntaxError(reason: "trailers larger than \(maxTrailerBytes) bytes", tooLarge: true)
            }
            return .none
        }
        trailerEnd.reset()
        let length = try input.withUnsafeReadableBytes { raw in
            try FieldScanner.scanFields(
                raw, from: 0, bareLineFeeds: bareLineFeeds, maxFields: maxTrailerFields, fields: &fields)
        }
        guard let length else {
            if input.readableBytes > maxTrailerBytes {
                throw MessageSyntaxError(reason: "trailers larger than \(maxTrailerBytes) bytes", tooLarge: true)
            }
            return .none
        }
        let bytes = input.readSlice(length: length)!
        guard !fields.isEmpty else { return .some(nil) }
        return .some(HTTPHeaders(FieldScanner.strings(from: bytes, fields)))
    }
}

/// Adds to `names` the field names a `Connection` value lists besides `close` and `keep-alive`
/// (lower-cased): those fields are hop-by-hop for this message.
func appendNamesListedInConnection(_ value: Slice<UnsafeRawBufferPointer>, to names: inout [String]) {
    forEachListItem(value) { item in
        if item.isEmpty || item.equalsFieldName("close") || item.equalsFieldName("keep-alive") { return }
        names.append(String(decoding: item, as: UTF8.self).lowercased())
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
    /// Whether this is a hop-by-hop field name (RFC 9110 §7.6.1), one a proxy never forwards
    /// either way (besides those a message's `Connection` field names).
    var isHopByHopFieldName: Bool {
        switch count {
        case 2: equalsFieldName("te")
        case 7: equalsFieldName("trailer") || equalsFieldName("upgrade")
        case 10: equalsFieldName("connection") || equalsFieldName("keep-alive")
        case 16: equalsFieldName("proxy-connection")
        case 17: equalsFieldName("transfer-encoding")
        default: false
        }
    }

    /// These bytes as a non-negative decimal number (`1*DIGIT`, leading zeros allowed, as
    /// `Content-Length` is), or nil if empty, not all digits, or too large for an `Int`.
    var decimalNumber: Int? {
        guard !isEmpty else { return nil }
        var value = 0
        for byte in self {
            guard let digit = byte.decimalValue else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }

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

    /// Whether these bytes equal `lowercased` (a name known at run time) ignoring ASCII case.
    func equalsFieldName(runtime lowercased: String) -> Bool {
        guard count == lowercased.utf8.count else { return false }
        var other = lowercased.utf8.makeIterator()
        for byte in self {
            let folded = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
            if folded != other.next() { return false }
        }
        return true
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
