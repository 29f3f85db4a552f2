/// Why a request got no HTTP response.
public enum ErrorKind: Int, Sendable, CaseIterable, Codable {
    /// The connection was refused (nothing listening, or a filter refusing connections).
    case refused
    /// The connection was reset or closed before the response was complete.
    case reset
    /// No complete response within the request timeout.
    case timeout
    /// Still in flight when the run ended (slowloris and slow-read clients usually end this way).
    case cancelled
    /// Anything else (an unparsable response, a local bind failure …).
    case other

    public var name: String {
        switch self {
        case .refused: "refused"
        case .reset: "reset"
        case .timeout: "timeout"
        case .cancelled: "cancelled"
        case .other: "other"
        }
    }
}
