import CoreMetrics

/// Counters of TLS termination and HTTP/2, created once per server and shared by all event loops.
final class TLSMetrics: Sendable {
    static let handshakesLabel = "levee_tls_handshakes_total"
    static let handshakeFailuresLabel = "levee_tls_handshake_failures_total"
    static let http2ConnectionsLabel = "levee_http2_connections_total"
    static let rapidResetLabel = "levee_http2_rapid_reset_closed_total"

    let handshakes: Counter
    let handshakeFailures: Counter
    let http2Connections: Counter
    /// Connections closed by the rapid-reset defence (too many RST_STREAM per second).
    let rapidResetClosed: Counter

    init() {
        let factory = MetricsSystem.factory
        handshakes = Counter(label: Self.handshakesLabel, factory: factory)
        handshakeFailures = Counter(label: Self.handshakeFailuresLabel, factory: factory)
        http2Connections = Counter(label: Self.http2ConnectionsLabel, factory: factory)
        rapidResetClosed = Counter(label: Self.rapidResetLabel, factory: factory)
    }
}
