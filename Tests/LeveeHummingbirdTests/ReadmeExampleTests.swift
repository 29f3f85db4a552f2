import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LeveeHummingbird
import Testing

// The README example for LeveeHummingbird, verbatim between the markers (docs/adapters.md has the same).

// README-BEGIN
func buildApplication(port: Int = 8080) throws -> some ApplicationProtocol {
    let router = Router(context: ClientAddressRequestContext.self)
    // 100 requests a minute per client address, bursts of 20; beyond that, 429 with Retry-After.
    router.add(middleware: RateLimitMiddleware(try Quota(parsing: "100/min burst 20")))
    router.get("/") { _, _ in "Hello!" }
    return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
}
// try await buildApplication().runService()
// README-END

@Suite("LeveeHummingbird README example")
struct ReadmeExampleTests {
    @Test("the example application serves a burst of 20, then answers 429")
    func example() async throws {
        try await buildApplication(port: 0).test(.live) { client in
            for _ in 0..<20 {
                try await client.execute(uri: "/", method: .get) { #expect($0.status == .ok) }
            }
            // A token comes back every 0.6 s, so within 40 quick requests one must be refused.
            var refused: TestResponse?
            for _ in 0..<40 where refused == nil {
                let response = try await client.execute(uri: "/", method: .get)
                if response.status == .tooManyRequests { refused = response }
            }
            let response = try #require(refused)
            #expect(response.headers[.retryAfter] == "1")
            #expect(response.headers[HTTPField.Name("RateLimit-Policy")!] == "\"per-client\";q=20;w=12")
        }
    }
}
