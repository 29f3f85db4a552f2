import NIOCore

/// An incremental RESP2 parser: a value type with no I/O, fed whatever bytes have arrived.
///
/// ``next(from:)`` returns one complete top-level value, or nil when more bytes are needed; it
/// consumes bytes only for elements it has completely read, so input may be split at any byte.
/// Arrays (nested to ``maximumDepth``) are assembled on an explicit stack, so a reply of a
/// million elements arriving a byte at a time is parsed in linear time.
public struct RESPParser: Sendable {
    /// Arrays whose elements are still arriving: expected count and elements read so far.
    private var stack: [(expected: Int, elements: [RESPValue])] = []

    /// The longest bulk string accepted (Redis's own `proto-max-bulk-len` default is 512 MiB).
    public var maximumBulkLength: Int
    /// The most elements one array may announce.
    public var maximumArrayCount: Int
    /// How deeply arrays may nest.
    public var maximumDepth: Int
    /// The longest header or simple line accepted without its CRLF.
    public var maximumLineLength: Int

    /// A parser with bounds suited to replies from a trusted Redis.
    public init(
        maximumBulkLength: Int = 512 * 1024 * 1024,
        maximumArrayCount: Int = 1 << 24,
        maximumDepth: Int = 32,
        maximumLineLength: Int = 64 * 1024
    ) {
        self.maximumBulkLength = maximumBulkLength
        self.maximumArrayCount = maximumArrayCount
        self.maximumDepth = maximumDepth
        self.maximumLineLength = maximumLineLength
    }

    /// Whether a value is partly read (an array awaits elements).
    public var isMidValue: Bool { !stack.isEmpty }

    /// Reads the next complete top-level value from `buffer`, or returns nil if more bytes are
    /// needed. Throws ``RESPError/protocolViolation(_:)`` on malformed input; after that the
    /// stream cannot be resynchronised and the connection must be closed.
    public mutating func next(from buffer: inout ByteBuffer) throws(RESPError) -> RESPValue? {
        while true {
            guard let element = try readElement(from: &buffer) else { return nil }
            var value: RESPValue
            switch element {
            case .value(let v):
                value = v
            case .arrayHeader(let count):
                guard stack.count < maximumDepth else { throw .protocolViolation("arrays nested deeper than \(maximumDepth)") }
                var elements: [RESPValue] = []
                elements.reserveCapacity(min(count, 1024))
                stack.append((count, elements))
                continue
            }
            // Complete arrays bottom-up until one is still waiting or the top level is reached.
            while !stack.isEmpty {
                stack[stack.count - 1].elements.append(value)
                guard stack[stack.count - 1].elements.count == stack[stack.count - 1].expected else { break }
                value = .array(stack.removeLast().elements)
            }
            if stack.isEmpty { return value }
        }
    }

    private enum Element {
        case value(RESPValue)
        case arrayHeader(Int)
    }

    /// One scalar or one array header, consumed only when it is complete.
    private func readElement(from buffer: inout ByteBuffer) throws(RESPError) -> Element? {
        guard let lineEnd = try lineEnd(in: buffer) else { return nil }
        let start = buffer.readerIndex
        guard let typeByte = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
        let lineLength = lineEnd - start - 1  // bytes after the type byte, before CRLF
        let afterLine = lineEnd + 2
        switch typeByte {
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let text = buffer.getString(at: start + 1, length: lineLength) ?? ""
            buffer.moveReaderIndex(to: afterLine)
            return .value(typeByte == UInt8(ascii: "+") ? .simpleString(text) : .error(text))
        case UInt8(ascii: ":"):
            let value = try integer(in: buffer, at: start + 1, length: lineLength)
            buffer.moveReaderIndex(to: afterLine)
            return .value(.integer(value))
        case UInt8(ascii: "$"):
            let length = try integer(in: buffer, at: start + 1, length: lineLength)
            if length == -1 {
                buffer.moveReaderIndex(to: afterLine)
                return .value(.bulkString(nil))
            }
            guard length >= 0, length <= maximumBulkLength else { throw .protocolViolation("bulk length \(length)") }
            let needed = afterLine - start + Int(length) + 2
            guard buffer.readableBytes >= needed else { return nil }
            let bodyEnd = afterLine + Int(length)
            guard buffer.getInteger(at: bodyEnd, as: UInt8.self) == UInt8(ascii: "\r"),
                  buffer.getInteger(at: bodyEnd + 1, as: UInt8.self) == UInt8(ascii: "\n")
            else { throw .protocolViolation("bulk string not terminated by CRLF") }
            let body = buffer.getSlice(at: afterLine, length: Int(length)) ?? ByteBuffer()
            buffer.moveReaderIndex(to: bodyEnd + 2)
            return .value(.bulkString(body))
        case UInt8(ascii: "*"):
            let count = try integer(in: buffer, at: start + 1, length: lineLength)
            buffer.moveReaderIndex(to: afterLine)
            if count == -1 { return .value(.array(nil)) }
            guard count >= 0, count <= maximumArrayCount else { throw .protocolViolation("array count \(count)") }
            return count == 0 ? .value(.array([])) : .arrayHeader(Int(count))
        default:
            throw .protocolViolation("unknown type byte 0x\(String(typeByte, radix: 16))")
        }
    }

    /// Index of the CR of the first CRLF, nil if it has not arrived yet.
    private func lineEnd(in buffer: ByteBuffer) throws(RESPError) -> Int? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: UInt8(ascii: "\r")) else {
            if view.count > maximumLineLength { throw .protocolViolation("line longer than \(maximumLineLength) bytes") }
            return nil
        }
        guard cr - view.startIndex <= maximumLineLength else { throw .protocolViolation("line longer than \(maximumLineLength) bytes") }
        guard cr + 1 < view.endIndex else { return nil }
        guard view[cr + 1] == UInt8(ascii: "\n") else { throw .protocolViolation("CR not followed by LF") }
        guard cr > view.startIndex else { throw .protocolViolation("empty line") }
        return cr
    }

    /// A strict decimal Int64 (optional leading minus, at least one digit, no overflow).
    private func integer(in buffer: ByteBuffer, at index: Int, length: Int) throws(RESPError) -> Int64 {
        guard length > 0, let bytes = buffer.getBytes(at: index, length: length) else {
            throw .protocolViolation("empty integer")
        }
        var negative = false
        var digits = bytes[...]
        if digits.first == UInt8(ascii: "-") {
            negative = true
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty else { throw .protocolViolation("empty integer") }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw .protocolViolation("invalid integer \(String(decoding: bytes, as: UTF8.self))")
            }
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            guard !o1, !o2 else { throw .protocolViolation("integer overflow") }
            value = next
        }
        return value
    }
}
