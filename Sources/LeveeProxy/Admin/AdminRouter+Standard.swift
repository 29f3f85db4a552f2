import NIOCore
import Prometheus

extension AdminRouter {
    /// `GET /metrics`: every metric of `registry` in the Prometheus text format (version 0.0.4),
    /// followed by `extra()`: families computed at scrape time (the flood filter sums its striped
    /// counters here rather than updating metric objects on the hot path).
    public func addMetrics(registry: PrometheusCollectorRegistry, extra: (@Sendable () -> String)? = nil) {
        add(.GET, "/metrics") { _ in
            var body = ByteBuffer(bytes: registry.emitToBuffer())
            if let extra { body.writeString(extra()) }
            return AdminResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
        }
    }

    /// `GET /healthz`: `ok` while the process serves (for load balancers and orchestrators).
    public func addHealth() {
        add(.GET, "/healthz") { _ in .text("ok") }
    }
}
