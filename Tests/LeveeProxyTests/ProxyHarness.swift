import LeveeProxy
import LeveeTestSupport
import Logging
import NIOCore
import NIOPosix

/// A proxy on 127.0.0.1 (ephemeral port) in front of test backends, for end-to-end tests.
struct ProxyHarness {
    /// Two event loops so that SO_REUSEPORT listeners and per-loop pools are exercised.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

    let server: ProxyServer
    let port: Int

    static func configuration(backendPorts: [Int], configure: (inout ProxyConfiguration) -> Void = { _ in }) -> ProxyConfiguration {
        var configuration = ProxyConfiguration(
            listeners: [ListenerConfiguration(host: "127.0.0.1", port: 0)],
            admin: nil,
            routes: [RouteConfiguration(name: "default", upstream: "app")],
            upstreams: [
                "app": UpstreamPoolConfiguration(
                    name: "app", backends: backendPorts.map { BackendAddress(host: "127.0.0.1", port: $0) })
            ])
        configuration.timeouts.connect = .seconds(1)
        configuration.timeouts.responseHeader = .seconds(5)
        configuration.shutdownGracePeriod = .seconds(1)
        configure(&configuration)
        return configuration
    }

    static func start(
        backendPorts: [Int], filter: any RequestFilter = AllowAllFilter(),
        configure: (inout ProxyConfiguration) -> Void = { _ in }
    ) async throws -> ProxyHarness {
        let configuration = configuration(backendPorts: backendPorts, configure: configure)
        var logger = Logger(label: "levee.test")
        logger.logLevel = .warning
        let server = ProxyServer(configuration: configuration, filter: filter, group: group, logger: logger)
        try await server.start()
        return ProxyHarness(server: server, port: server.boundAddresses.first?.port ?? 0)
    }

    func stop() async {
        await server.shutdown(gracePeriod: .zero)
    }

    func connect() async throws -> RawHTTPClient {
        try await RawHTTPClient.connect(port: port)
    }

    /// One request on a fresh connection.
    func get(_ path: String, headers: String = "") async throws -> RawHTTPResponse {
        let client = try await connect()
        do {
            try await client.send("GET \(path) HTTP/1.1\r\nHost: test.local\r\n\(headers)\r\n")
            let response = try await client.readResponse()
            await client.close()
            return response
        } catch {
            await client.close()
            throw error
        }
    }
}

/// Runs `body` with a proxy in front of a `TestHTTPServer` answering with `handler`, then stops both.
func withProxy(
    backend handler: @escaping TestHTTPServer.Handler = { _ in TestResponse(text: "ok") },
    filter: any RequestFilter = AllowAllFilter(),
    configure: (inout ProxyConfiguration) -> Void = { _ in },
    _ body: (ProxyHarness, TestHTTPServer) async throws -> Void
) async throws {
    let backend = try await TestHTTPServer.start(handler: handler)
    let proxy = try await ProxyHarness.start(backendPorts: [backend.port], filter: filter, configure: configure)
    do {
        try await body(proxy, backend)
    } catch {
        await proxy.stop()
        await backend.shutdown()
        throw error
    }
    await proxy.stop()
    await backend.shutdown()
}

/// The request headers as "name: value" lines, as the backend received them.
let echoHeaders: TestHTTPServer.Handler = { request in
    var text = "\(request.head.method) \(request.head.uri)\n"
    for header in request.head.headers { text += "\(header.name.lowercased()): \(header.value)\n" }
    return TestResponse(text: text)
}

/// Runs `body` with a proxy in front of a `StreamingTestBackend`, then stops both.
func withStreamingProxy(
    configure: (inout ProxyConfiguration) -> Void = { _ in },
    _ body: (ProxyHarness, StreamingTestBackend) async throws -> Void
) async throws {
    let backend = try await StreamingTestBackend.start()
    let proxy = try await ProxyHarness.start(backendPorts: [backend.port], configure: configure)
    do {
        try await body(proxy, backend)
    } catch {
        await proxy.stop()
        await backend.shutdown()
        throw error
    }
    await proxy.stop()
    await backend.shutdown()
}
