import LeveeProxy
import LeveeTestSupport
import Logging
import NIOCore
import ServiceLifecycle
import Testing

@Suite struct ProxyLifecycleTests {
    @Test func runsInAServiceGroupAndStopsOnGracefulShutdown() async throws {
        let backend = try await TestHTTPServer.start()
        let configuration = ProxyHarness.configuration(backendPorts: [backend.port])
        var logger = Logger(label: "levee.test")
        logger.logLevel = .warning
        let server = ProxyServer(configuration: configuration, group: ProxyHarness.group, logger: logger)
        try await server.start()
        let port = server.boundAddresses[0].port!
        let group = ServiceGroup(services: [server], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let client = try await RawHTTPClient.connect(port: port)
            try await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().statusCode == 200)
            await group.triggerGracefulShutdown()
            // The idle keep-alive connection is closed by the drain, and run() returns.
            try await client.waitForClose(timeout: .seconds(5))
            try await tasks.waitForAll()
        }
        await #expect(throws: (any Error).self) { _ = try await RawHTTPClient.connect(port: port) }
        await backend.shutdown()
    }

    @Test func wholeRequestTimeoutAndTarpit() async throws {
        struct Tarpit: RequestFilter {
            func evaluate(_ request: RequestContext) -> FilterVerdict {
                request.head.uri == "/tarpit"
                    ? .tarpit(duration: .milliseconds(200), response: LocalResponse(status: .forbidden, body: ByteBuffer(string: "no")))
                    : .forward(responseHeaders: [:])
            }
        }
        try await withProxy(backend: { _ in
            try? await Task.sleep(for: .seconds(3))
            return TestResponse(text: "late")
        }, filter: Tarpit(), configure: { $0.timeouts.request = .milliseconds(300) }) { proxy, backend in
            let started = ContinuousClock.now
            let tarpitted = try await proxy.get("/tarpit")
            #expect(tarpitted.statusCode == 403)
            #expect(ContinuousClock.now - started >= .milliseconds(190))
            let slow = try await proxy.get("/slow")
            #expect(slow.statusCode == 504)
        }
    }
}
