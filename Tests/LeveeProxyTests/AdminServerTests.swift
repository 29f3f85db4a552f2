import Foundation
import LeveeTestSupport
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Testing

@testable import LeveeProxy

@Suite("Admin router and listener")
struct AdminServerTests {
    static let token = "admin-test-token-0123456789"

    static func router() -> AdminRouter {
        let router = AdminRouter()
        router.addHealth()
        router.add(.POST, "/admin/thing", requiresToken: true) { request in
            .text("changed \(String(buffer: request.body)) \(request.query["x"] ?? "-")")
        }
        return router
    }

    @Test("state-changing endpoints need the bearer token")
    func tokenIsEnforced() async {
        let router = Self.router()
        func call(_ headers: HTTPHeaders, token: String?) async -> AdminResponse {
            await router.respond(
                to: AdminRequest(method: .POST, uri: "/admin/thing?x=1", headers: headers, body: ByteBuffer(string: "b")),
                token: token)
        }
        #expect(await call([:], token: Self.token).status == .unauthorized)
        #expect(await call(["authorization": "Bearer wrong-token"], token: Self.token).status == .unauthorized)
        #expect(await call(["authorization": "Basic \(Self.token)"], token: Self.token).status == .unauthorized)
        #expect(await call(["authorization": "Bearer \(Self.token)"], token: nil).status == .forbidden)
        let ok = await call(["authorization": "Bearer \(Self.token)"], token: Self.token)
        #expect(ok.status == .ok)
        #expect(String(buffer: ok.body) == "changed b 1\n")
    }

    @Test("unknown paths list the endpoints; a wrong method is 405")
    func notFoundAndMethod() async {
        let router = Self.router()
        let missing = await router.respond(to: AdminRequest(method: .GET, uri: "/nope"), token: nil)
        #expect(missing.status == .notFound)
        #expect(String(buffer: missing.body).contains("GET /healthz"))
        let wrongMethod = await router.respond(to: AdminRequest(method: .GET, uri: "/admin/thing"), token: nil)
        #expect(wrongMethod.status == .methodNotAllowed)
    }

    @Test("tokens are compared in full")
    func constantTimeCompare() {
        #expect(AdminRouter.constantTimeEqual("abc", "abc"))
        #expect(!AdminRouter.constantTimeEqual("abc", "abd"))
        #expect(!AdminRouter.constantTimeEqual("abc", "abcd"))
        #expect(!AdminRouter.constantTimeEqual("", "a"))
    }

    @Test("serves over loopback with keep-alive, a token-protected call, and stops on graceful shutdown")
    func overLoopback() async throws {
        let server = AdminServer(
            host: "127.0.0.1", port: 0, token: Self.token, router: Self.router(),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        try await server.start()
        let port = try #require(server.localAddress?.port)
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        let running = Task { try await group.run() }

        let client = try await RawHTTPClient.connect(port: port)
        try await client.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        let first = try await client.readResponse()
        #expect(first.statusCode == 200 && first.bodyString == "ok\n")
        try await client.send("POST /admin/thing HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
        #expect(try await client.readResponse().statusCode == 401)
        try await client.send(
            "POST /admin/thing?x=y HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(Self.token)\r\nContent-Length: 2\r\n\r\nhi")
        let authorized = try await client.readResponse()
        #expect(authorized.statusCode == 200 && authorized.bodyString == "changed hi y\n")
        await client.close()

        server.setToken(nil)
        let refused = try await httpRequest(port: port, method: "POST", path: "/admin/thing", headers: ["Authorization": "Bearer \(Self.token)"])
        #expect(refused.statusCode == 403)

        await group.triggerGracefulShutdown()
        try await running.value
        await #expect(throws: (any Error).self) { _ = try await httpRequest(port: port, path: "/healthz") }
    }
}
