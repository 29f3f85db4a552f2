import CoreMetrics
import LeveeProxy
import LeveeTestSupport
import MetricsTestKit
import NIOCore
import Testing

@Suite struct ProxyMetricsTests {
    @Test func requestsLatencyConnectionsAndBytesAreEmitted() async throws {
        let metrics = TestMetrics()
        try await withMetricsFactory(metrics) {
            try await withProxy(backend: { _ in TestResponse(text: "0123456789") }, configure: {
                $0.routes = [
                    RouteConfiguration(name: "site", pathPrefix: "/site", upstream: "app"),
                ]
            }) { proxy, _ in
                let client = try await proxy.connect()
                for _ in 0..<3 {
                    try await client.send("GET /site/x HTTP/1.1\r\nHost: a\r\n\r\n")
                    #expect(try await client.readResponse().statusCode == 200)
                }
                try await client.send("GET /elsewhere HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try await client.readResponse().statusCode == 404)
                #expect(try metrics.expectMeter("levee_open_connections").lastValue == 1)
                await client.close()

                #expect(metrics.counterTotal(label: "levee_requests_total", dimensions: [("route", "site"), ("status", "200")]) == 3)
                #expect(metrics.counterTotal(label: "levee_requests_total", dimensions: [("route", "-"), ("status", "404")]) == 1)
                #expect(try metrics.expectTimer("levee_upstream_latency_seconds").values.count == 3)
                #expect(metrics.counterTotal(label: "levee_bytes_sent_total") >= 30)
                // Bytes in are counted when the connection closes: poll with a deadline.
                let deadline = ContinuousClock.now + .seconds(5)
                while metrics.counterTotal(label: "levee_bytes_received_total") == 0 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(metrics.counterTotal(label: "levee_bytes_received_total") > 100)
            }
        }
    }
}
