import LeveeTestSupport
import Testing

/// Starts one real `redis-server` around a whole suite and stops it at the end.
/// If the server cannot start (for instance it is not installed), every test of the suite fails
/// with the reason — nothing is skipped silently.
struct RedisServerTrait: SuiteTrait, TestScoping {
    /// The server of the suite being run.
    @TaskLocal static var current: RedisServerProcess?

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        try await RedisServerTrait.$current.withValue(server) {
            try await function()
        }
    }

    /// The suite's server, or a failure saying why there is none.
    static func server() throws -> RedisServerProcess {
        try #require(current, "no redis-server for this suite: add the .redisServer trait")
    }
}

extension Trait where Self == RedisServerTrait {
    /// A real redis-server on a free loopback port for the duration of the suite.
    static var redisServer: Self { RedisServerTrait() }
}
