/// Everything that can make a load run refuse to start.
public enum LoadError: Error, Equatable, CustomStringConvertible {
    case invalidTarget(String, String)
    case remoteTargetRefused(String)
    case invalidScenario(String)
    case invalidThreshold(String, String)
    case capture(String)
    /// An HTTP/2 run whose server did not select `h2` by ALPN (the second value: what it selected, if anything).
    case http2NotNegotiated(String, String?)

    public var description: String {
        switch self {
        case .invalidTarget(let url, let why): "invalid target \(url): \(why)"
        case .remoteTargetRefused(let host):
            "refusing to send load to \(host): only loopback (127.0.0.0/8, ::1, localhost) is allowed without --allow-remote"
        case .invalidScenario(let why): "invalid scenario: \(why)"
        case .invalidThreshold(let expr, let why): "invalid threshold \"\(expr)\": \(why)"
        case .capture(let why): "capture: \(why)"
        case .http2NotNegotiated(let server, let selected):
            "\(server) did not select HTTP/2 by ALPN (it selected \(selected.map { "\"\($0)\"" } ?? "no protocol")); "
                + "enable HTTP/2 on its TLS listener or run without --http2"
        }
    }
}
