import NIOCore

extension RESPValue {
    /// Appends the RESP2 bytes of this value to `buffer`.
    ///
    /// Simple strings and errors are written as they are; they must not contain CR or LF
    /// (commands are always sent as arrays of bulk strings, which are binary-safe).
    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .simpleString(let text):
            buffer.writeInteger(UInt8(ascii: "+"))
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        case .error(let text):
            buffer.writeInteger(UInt8(ascii: "-"))
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        case .integer(let value):
            buffer.writeInteger(UInt8(ascii: ":"))
            buffer.writeString(String(value))
            buffer.writeStaticString("\r\n")
        case .bulkString(nil):
            buffer.writeStaticString("$-1\r\n")
        case .bulkString(let bytes?):
            buffer.writeInteger(UInt8(ascii: "$"))
            buffer.writeString(String(bytes.readableBytes))
            buffer.writeStaticString("\r\n")
            buffer.writeImmutableBuffer(bytes)
            buffer.writeStaticString("\r\n")
        case .array(nil):
            buffer.writeStaticString("*-1\r\n")
        case .array(let elements?):
            buffer.writeInteger(UInt8(ascii: "*"))
            buffer.writeString(String(elements.count))
            buffer.writeStaticString("\r\n")
            for element in elements { element.encode(into: &buffer) }
        }
    }

    /// A command as Redis expects it: an array of bulk strings.
    public static func command(_ arguments: [ByteBuffer]) -> RESPValue {
        .array(arguments.map { .bulkString($0) })
    }

    /// A command from text arguments (`["SET", "k", "v"]`).
    public static func command(_ arguments: [String]) -> RESPValue {
        .array(arguments.map { .bulk($0) })
    }
}
