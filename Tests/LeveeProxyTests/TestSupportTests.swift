import LeveeTestSupport
import NIOCore
import Testing

@Suite struct TestSupportTests {
    @Test func backendBindsAndSHA256MatchesKnownVector() async throws {
        let server = try await TestHTTPServer.start { request in
            TestResponse(text: "hello \(request.head.uri) \(SHA256Digest.hex(request.body))")
        }
        defer { Task { await server.shutdown() } }
        #expect(server.port > 0)
        #expect(SHA256Digest.hex(ByteBuffer(string: "abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
