import Foundation
import Logging
import LeveeTestSupport
import Metrics
import NIOCore
import Prometheus

@testable import LeveeProxy

/// Builds an application whose metrics go to a registry of its own (through a task-local
/// factory: the data path captures the factory when it is built), without bootstrapping the
/// process-wide `MetricsSystem`.
func makeTestApplication(file: String) throws -> LeveeApplication {
    let registry = PrometheusCollectorRegistry()
    return try withMetricsFactory(PrometheusMetricsFactory(registry: registry)) {
        try LeveeApplication(
            source: .file(file), registry: registry, logger: Logger(label: "test"),
            options: .init(handleSignals: false))
    }
}

/// A temporary directory for configuration files, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("levee-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// One request on its own connection (`Connection: close`), answered in full.
func httpRequest(
    port: Int, method: String = "GET", path: String, headers: [String: String] = [:], body: String = ""
) async throws -> RawHTTPResponse {
    let client = try await RawHTTPClient.connect(port: port)
    var text = "\(method) \(path) HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
    for (name, value) in headers { text += "\(name): \(value)\r\n" }
    if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.utf8.count)\r\n" }
    text += "\r\n" + body
    try await client.send(text)
    let response = try await client.readResponse(headRequest: method == "HEAD")
    await client.close()
    return response
}

/// Polls `condition` until it holds or `timeout` passes (for effects that land asynchronously).
func waitUntil(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}

extension LeveeApplication {
    /// The port of the first proxy listener.
    var proxyPort: Int { proxy.boundAddresses.first?.port ?? 0 }
    /// The admin port.
    var adminPort: Int { admin?.localAddress?.port ?? 0 }
}
