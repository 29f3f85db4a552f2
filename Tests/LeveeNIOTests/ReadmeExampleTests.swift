import LeveeNIO
import LeveeTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

// The README example for LeveeNIO, verbatim between the markers (docs/adapters.md has the same).
// `HelloHandler` stands for the application's own handler.

// README-BEGIN
func startServer(port: Int = 8080) async throws -> any Channel {
    let limiter = HTTPRateLimiter(try Quota(parsing: "100/min burst 20"))  // per client address
    return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                try channel.pipeline.syncOperations.addHandler(HTTPRateLimitHandler(limiter: limiter))
                try channel.pipeline.syncOperations.addHandler(HelloHandler())  // your application
            }
        }
        .bind(host: "127.0.0.1", port: port).get()
}
// README-END

@Suite("LeveeNIO README example")
struct ReadmeExampleTests {
    @Test("the example server serves a burst of 20, then answers 429")
    func example() async throws {
        let server = try await startServer(port: 0)
        let port = try #require(server.localAddress?.port)
        // A token comes back every 0.6 s, so 40 pipelined requests cannot all be served.
        let responses = try await LoopbackHTTPClient.exchange(Array(repeating: .init(), count: 40), port: port)
        #expect(responses.count == 40)
        #expect(responses.prefix(20).allSatisfy { $0.head.status == .ok })
        let refused = try #require(responses.first { $0.head.status == .tooManyRequests })
        #expect(refused.head.headers["Retry-After"] == ["1"])
        try await server.close()
    }
}
