import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LeveeHummingbird
import LeveeTestSupport
import NIOCore
import Testing

extension HTTPField.Name {
    static let rateLimitPolicy = HTTPField.Name("RateLimit-Policy")!
    static let rateLimit = HTTPField.Name("RateLimit")!
    static let client = HTTPField.Name("X-Client")!
    static let apiKey = HTTPField.Name("X-API-Key")!
}

@Suite("RateLimitMiddleware")
struct RateLimitMiddlewareTests {
    /// 2 a minute, burst 2: a third request at the same instant waits 30 s.
    static let quota = Quota(rate: 2, period: .seconds(60), burst: 2)

    /// An app whose clients are told apart by `X-Client` (the router test client has no address).
    static func headerKeyedApp(limiter: HTTPRateLimiter, addFields: Bool = false) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: RateLimitMiddleware(
            limiter: limiter, addFieldsToAllowedResponses: addFields, key: RateLimitMiddleware.header(.client)))
        router.get("/hello") { _, _ in "hello" }
        router.post("/upload") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            return "got \(body.readableBytes)"
        }
        return Application(router: router)
    }

    @Test("a client over quota gets 429 with Retry-After and rate-limit fields while another is served")
    func overQuota() async throws {
        let clock = ManualClock()
        let limiter = HTTPRateLimiter(Self.quota, clock: clock)
        try await Self.headerKeyedApp(limiter: limiter).test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/hello", method: .get, headers: [.client: "a"]) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "hello")
                    #expect(response.headers[.rateLimit] == nil, "fields on admitted responses are off by default")
                }
            }
            try await client.execute(uri: "/hello", method: .get, headers: [.client: "a"]) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "30")
                #expect(response.headers[.rateLimitPolicy] == "\"per-client\";q=2;w=60")
                #expect(response.headers[.rateLimit] == "\"per-client\";r=0;t=60")
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.headers[.cacheControl] == "no-store")
                let body = String(buffer: response.body)
                #expect(body.contains("\"status\":429"))
                #expect(body.contains("\"retry_after\":30"))
                #expect(body.contains("\"policy\":\"per-client\""))
            }
            try await client.execute(uri: "/hello", method: .get, headers: [.client: "b"]) { response in
                #expect(response.status == .ok)
            }
            clock.advance(by: .seconds(30))
            try await client.execute(uri: "/hello", method: .get, headers: [.client: "a"]) { response in
                #expect(response.status == .ok)
            }
        }
        #expect(limiter.counts == HTTPRateLimiter.Counts(allowed: 4, limited: 1, unkeyed: 0))
    }

    @Test("an API-key closure limits per key; requests without a key are not limited")
    func apiKey() async throws {
        let limiter = HTTPRateLimiter(Quota(rate: 1, period: .seconds(3600), burst: 1), name: "per-api-key", clock: ManualClock())
        let router = Router()
        router.add(middleware: RateLimitMiddleware(limiter: limiter) { request, _ in
            request.headers[.apiKey].map { LimiterKey($0) }
        })
        router.get("/data") { _, _ in "data" }
        try await Application(router: router).test(.router) { client in
            let statuses = [
                try await client.execute(uri: "/data", method: .get, headers: [.apiKey: "k-1"]).status,
                try await client.execute(uri: "/data", method: .get, headers: [.apiKey: "k-1"]).status,
                try await client.execute(uri: "/data", method: .get, headers: [.apiKey: "k-2"]).status,
                try await client.execute(uri: "/data", method: .get).status,
                try await client.execute(uri: "/data", method: .get).status,
            ]
            #expect(statuses == [.ok, .tooManyRequests, .ok, .ok, .ok])
            try await client.execute(uri: "/data", method: .get, headers: [.apiKey: "k-1"]) { response in
                #expect(response.headers[.retryAfter] == "3600")
                #expect(response.headers[.rateLimitPolicy] == "\"per-api-key\";q=1;w=3600")
            }
        }
        #expect(limiter.counts == HTTPRateLimiter.Counts(allowed: 2, limited: 2, unkeyed: 2))
    }

    @Test("admitted responses carry the fields when configured; a browser gets an HTML 429; a denied upload never reaches the handler")
    func fieldsHTMLAndBody() async throws {
        let limiter = HTTPRateLimiter(Self.quota, clock: ManualClock())
        try await Self.headerKeyedApp(limiter: limiter, addFields: true).test(.router) { client in
            try await client.execute(uri: "/hello", method: .get, headers: [.client: "a"]) { response in
                #expect(response.headers[.rateLimitPolicy] == "\"per-client\";q=2;w=60")
                #expect(response.headers[.rateLimit] == "\"per-client\";r=1;t=30")
            }
            try await client.execute(uri: "/upload", method: .post, headers: [.client: "a"], body: ByteBuffer(string: "abc")) { response in
                #expect(String(buffer: response.body) == "got 3")
                #expect(response.headers[.rateLimit] == "\"per-client\";r=0;t=60")
            }
            try await client.execute(uri: "/upload", method: .post, headers: [.client: "a", .accept: "text/html"],
                                     body: ByteBuffer(string: "abc")) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(String(buffer: response.body).contains("<h1>429 Too Many Requests</h1>"))
            }
        }
    }

    @Test("several policies: the one that denies is reported")
    func severalPolicies() async throws {
        let limiter = HTTPRateLimiter(policies: [
            try RateLimitPolicy(name: "burst", parsing: "10/s burst 5"),
            try RateLimitPolicy(name: "hourly", parsing: "3/h"),
        ], clock: ManualClock())
        try await Self.headerKeyedApp(limiter: limiter, addFields: true).test(.router) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/hello", method: .get, headers: [.client: "a"]) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/hello", method: .get, headers: [.client: "a"]) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.rateLimitPolicy] == "\"hourly\";q=3;w=3600")
                #expect(response.headers[.retryAfter] == "1200")
            }
        }
    }

    @Test("live server: the real client address is the key; another address is served")
    func liveAddresses() async throws {
        let limiter = HTTPRateLimiter(Self.quota, clock: ManualClock())
        let router = Router(context: ClientAddressRequestContext.self)
        router.add(middleware: RateLimitMiddleware(limiter: limiter))
        router.get("/hello") { _, _ in "hello" }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            for expected in [HTTPResponse.Status.ok, .ok, .tooManyRequests] {
                try await client.execute(uri: "/hello", method: .get) { #expect($0.status == expected) }
            }
            try await client.execute(uri: "/hello", method: .get) { response in
                #expect(response.headers[.retryAfter] == "30")
                #expect(response.headers[.rateLimit] == "\"per-client\";r=0;t=60")
            }
            let port = try #require(client.port)
            let other = try await LoopbackHTTPClient.exchange([.init(.GET, "/hello")], port: port, from: "127.0.0.2")
            #expect(other.map(\.head.status.code) == [200])
            #expect(other.first?.body == "hello")
        }
        #expect(limiter.counts == HTTPRateLimiter.Counts(allowed: 3, limited: 2, unkeyed: 0))
    }
}
