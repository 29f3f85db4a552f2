/// Everything that can go wrong with a command, typed so that callers can choose a fallback.
public enum RESPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Redis answered with an error reply; `code` is its first word (`ERR`, `NOSCRIPT`, `WRONGTYPE` …).
    case server(code: String, message: String)
    /// No reply arrived within the command timeout; the connection was closed to resynchronise.
    case timeout
    /// The connection could not be established within the connect timeout or was refused.
    case connectFailed(String)
    /// The client has no connection right now (it is waiting to reconnect); fail fast, retry later.
    case notConnected
    /// The connection closed before the reply arrived.
    case connectionClosed
    /// The client was shut down.
    case shutdown
    /// The bytes received are not valid RESP2, or exceed a configured bound.
    case protocolViolation(String)
    /// A reply had an unexpected shape for the command that was sent.
    case unexpectedReply(RESPValue)

    /// An error reply split into its code and message (`"NOSCRIPT No matching script"`).
    public static func fromReply(_ text: String) -> RESPError {
        let code = text.split(separator: " ", maxSplits: 1).first.map(String.init) ?? text
        return .server(code: code, message: text)
    }

    /// Readable text for logs.
    public var description: String {
        switch self {
        case .server(_, let message): return "redis error: \(message)"
        case .timeout: return "redis command timed out"
        case .connectFailed(let why): return "cannot connect to redis: \(why)"
        case .notConnected: return "not connected to redis (reconnecting)"
        case .connectionClosed: return "redis connection closed"
        case .shutdown: return "redis client shut down"
        case .protocolViolation(let why): return "invalid RESP from redis: \(why)"
        case .unexpectedReply(let value): return "unexpected redis reply: \(value)"
        }
    }
}
