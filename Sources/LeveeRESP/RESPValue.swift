import NIOCore

/// One RESP2 value, as Redis sends it and as commands are written.
///
/// RESP2 has two distinct "null" forms: the null bulk string (`$-1`) and the null array (`*-1`);
/// they are kept apart as `.bulkString(nil)` and `.array(nil)` so that nothing is lost.
public enum RESPValue: Sendable, Hashable {
    /// `+OK` — a short status line (no CR or LF inside).
    case simpleString(String)
    /// `-ERR message` — an error reply; ``RESPError/server(code:message:)`` carries it to callers.
    case error(String)
    /// `:42` — a signed 64-bit integer.
    case integer(Int64)
    /// `$3\r\nfoo` — binary-safe bytes; `nil` is the null bulk string `$-1`.
    case bulkString(ByteBuffer?)
    /// `*2\r\n…` — an array of values (possibly nested); `nil` is the null array `*-1`.
    case array([RESPValue]?)

    /// A bulk string holding the UTF-8 bytes of `text` (how command arguments are sent).
    public static func bulk(_ text: String) -> RESPValue {
        .bulkString(ByteBuffer(string: text))
    }

    /// The text of a simple or bulk string (UTF-8, lossy), nil for other values and nulls.
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes?): return String(buffer: bytes)
        default: return nil
        }
    }

    /// The value of an integer reply, or of a bulk/simple string that holds a decimal integer.
    public var int64: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulkString, .simpleString: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// The elements of a non-null array.
    public var array: [RESPValue]? {
        if case .array(let elements?) = self { return elements }
        return nil
    }

    /// Whether this is the null bulk string or the null array.
    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): return true
        default: return false
        }
    }
}

extension RESPValue: CustomStringConvertible {
    /// A short readable form for logs and test failures (`"OK"`, `(error) ERR …`, `[1, "a"]`).
    public var description: String {
        switch self {
        case .simpleString(let text): return text
        case .error(let message): return "(error) \(message)"
        case .integer(let value): return "(integer) \(value)"
        case .bulkString(nil), .array(nil): return "(nil)"
        case .bulkString(let bytes?): return "\"\(String(buffer: bytes))\""
        case .array(let elements?): return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
