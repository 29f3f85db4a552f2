import NIOCore
import Prometheus

extension AdminRouter {
    /// `GET /metrics`: every metric of `registry` in the Prometheus text format (version 0.0.4).
    public func addMetrics(registry: PrometheusCollectorRegistry) {
        add(.GET, "/metrics") { _ in
            AdminResponse(
                status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                body: ByteBuffer(bytes: registry.emitToBuffer()))
        }
    }

    /// `GET /healthz`: `ok` while the process serves (for load balancers and orchestrators).
    public func addHealth() {
        add(.GET, "/healthz") { _ in .text("ok") }
    }
}
