import Levee
import LeveeNIO
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The handler in an `EmbeddedChannel`: the test plays the application (reads what the handler
/// forwards, writes responses through the whole pipeline) and reads what goes out.
@Suite("HTTPRateLimitHandler in an EmbeddedChannel")
struct HTTPRateLimitHandlerTests {
    /// 2 per second, burst 2: a third request at the same instant waits 0.5 s for a token.
    static let quota = Quota(rate: 2, period: .seconds(1), burst: 2)

    func makeChannel(
        limiter: HTTPRateLimiter, addFields: Bool = false, key: HTTPRateLimitHandler.KeyFunction? = nil,
        peer: String = "192.0.2.7"
    ) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            HTTPRateLimitHandler(limiter: limiter, addFieldsToAllowedResponses: addFields, key: key))
        try channel.connect(to: SocketAddress(ipAddress: peer, port: 40_000)).wait()  // sets the peer address
        return channel
    }

    func head(_ method: HTTPMethod = .GET, _ uri: String = "/", headers: HTTPHeaders = [:],
              version: HTTPVersion = .http1_1) -> HTTPServerRequestPart {
        .head(HTTPRequestHead(version: version, method: method, uri: uri, headers: headers))
    }

    /// Sends a whole request; returns the parts the handler forwarded to the application.
    func send(_ channel: EmbeddedChannel, _ method: HTTPMethod = .GET, headers: HTTPHeaders = [:],
              body: String? = nil, version: HTTPVersion = .http1_1) throws -> [HTTPServerRequestPart] {
        try channel.writeInbound(head(method, headers: headers, version: version))
        if let body { try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: body))) }
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        var forwarded: [HTTPServerRequestPart] = []
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) { forwarded.append(part) }
        return forwarded
    }

    /// The application's answer: 200 "hello".
    func answer(_ channel: EmbeddedChannel) throws {
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "hello"))))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
    }

    struct Answer {
        var head: HTTPResponseHead
        var body: String
    }

    /// Reads whole responses written so far.
    func responses(_ channel: EmbeddedChannel) throws -> [Answer] {
        var answers: [Answer] = []
        var current: Answer?
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            switch part {
            case .head(let head): current = Answer(head: head, body: "")
            case .body(.byteBuffer(let buffer)): current?.body += String(buffer: buffer)
            case .body: Issue.record("unexpected file region")
            case .end:
                if let current { answers.append(current) }
                current = nil
            }
        }
        return answers
    }

    @Test("a client over its quota gets 429 with Retry-After and rate-limit fields; the body is swallowed")
    func overQuota() throws {
        let clock = ManualClock(start: 1_000_000_000)
        let limiter = HTTPRateLimiter(Self.quota, clock: clock)
        let channel = try makeChannel(limiter: limiter)
        defer { _ = try? channel.finish() }

        for _ in 0..<2 {
            let forwarded = try send(channel)
            #expect(forwarded.count == 2)
            try answer(channel)
            #expect(try responses(channel).map(\.head.status) == [.ok])
        }
        let forwarded = try send(channel, .POST, headers: ["Content-Length": "9"], body: "x=1&y=222")
        #expect(forwarded.isEmpty, "a denied request must not reach the application, body included")
        let denied = try responses(channel)
        try #require(denied.count == 1)
        let head = denied[0].head
        #expect(head.status == .tooManyRequests)
        #expect(head.headers["Retry-After"] == ["1"])
        #expect(head.headers["RateLimit-Policy"] == ["\"per-client\";q=2;w=1"])
        #expect(head.headers["RateLimit"] == ["\"per-client\";r=0;t=1"])
        #expect(head.headers["Content-Type"] == ["application/problem+json"])
        #expect(head.headers["Content-Length"] == [String(denied[0].body.utf8.count)])
        #expect(denied[0].body.contains("\"status\":429"))
        #expect(channel.isActive, "the connection stays usable after a 429")

        // The same connection is served again once a token is back (0.5 s at 2/s).
        clock.advance(by: .milliseconds(500))
        #expect(try send(channel).count == 2)
        try answer(channel)
        #expect(try responses(channel).map(\.head.status) == [.ok])
        #expect(limiter.counts == HTTPRateLimiter.Counts(allowed: 3, limited: 1, unkeyed: 0))
    }

    @Test("another client address is served while the first one is limited")
    func distinctPeers() throws {
        let limiter = HTTPRateLimiter(Self.quota, clock: ManualClock())
        let first = try makeChannel(limiter: limiter, peer: "192.0.2.7")
        let second = try makeChannel(limiter: limiter, peer: "2001:db8::1")
        defer {
            _ = try? first.finish()
            _ = try? second.finish()
        }
        for _ in 0..<2 { _ = try send(first); try answer(first) }
        _ = try send(first)
        #expect(try responses(first).map(\.head.status) == [.ok, .ok, .tooManyRequests])
        #expect(try send(second).count == 2)
        try answer(second)
        #expect(try responses(second).map(\.head.status) == [.ok])
    }

    @Test("a key function (API key header) decides the key; requests without one pass unchecked")
    func customKey() throws {
        let limiter = HTTPRateLimiter(Quota(rate: 1, period: .seconds(60), burst: 1), name: "per-key", clock: ManualClock())
        let channel = try makeChannel(limiter: limiter) { head, _ in
            head.headers.first(name: "X-API-Key").map { LimiterKey($0) }
        }
        defer { _ = try? channel.finish() }
        #expect(try send(channel, headers: ["X-API-Key": "alpha"]).count == 2)
        try answer(channel)
        #expect(try send(channel, headers: ["X-API-Key": "alpha"]).isEmpty)
        #expect(try send(channel, headers: ["X-API-Key": "beta"]).count == 2)
        try answer(channel)
        for _ in 0..<3 {
            _ = try send(channel)
            try answer(channel)
        }
        let statuses = try responses(channel).map(\.head.status)
        #expect(statuses == [.ok, .tooManyRequests, .ok, .ok, .ok, .ok])
        #expect(limiter.counts == HTTPRateLimiter.Counts(allowed: 2, limited: 1, unkeyed: 3))
    }

    @Test("admitted responses carry the rate-limit fields when configured; the 429 answers HTML to browsers")
    func fieldsAndHTML() throws {
        let limiter = HTTPRateLimiter(Self.quota, clock: ManualClock())
        let channel = try makeChannel(limiter: limiter, addFields: true)
        defer { _ = try? channel.finish() }
        _ = try send(channel)
        try answer(channel)
        let allowed = try responses(channel)
        #expect(allowed.first?.head.headers["RateLimit-Policy"] == ["\"per-client\";q=2;w=1"])
        #expect(allowed.first?.head.headers["RateLimit"] == ["\"per-client\";r=1;t=1"])
        #expect(allowed.first?.body == "hello")

        _ = try send(channel)
        try answer(channel)
        _ = try send(channel, headers: ["Accept": "text/html,application/xhtml+xml,*/*;q=0.8"])
        let answers = try responses(channel)
        #expect(answers.map(\.head.status) == [.ok, .tooManyRequests])
        #expect(answers.last?.head.headers["Content-Type"] == ["text/html; charset=utf-8"])
        #expect(answers.last?.body.contains("<h1>429 Too Many Requests</h1>") == true)
    }

    @Test("a pipelined 429 waits for the earlier admitted response")
    func pipelinedOrder() throws {
        let limiter = HTTPRateLimiter(Quota(rate: 1, period: .seconds(60), burst: 1), clock: ManualClock())
        let channel = try makeChannel(limiter: limiter)
        defer { _ = try? channel.finish() }
        #expect(try send(channel).count == 2)  // admitted, not answered yet
        #expect(try send(channel).isEmpty)  // denied while the first response is owed
        #expect(try responses(channel).isEmpty, "the 429 must not overtake the first response")
        try answer(channel)
        let answers = try responses(channel)
        #expect(answers.map(\.head.status) == [.ok, .tooManyRequests])
        #expect(answers.first?.body == "hello")
    }

    @Test("HEAD gets a 429 without a body; a request without keep-alive gets its connection closed")
    func headAndClose() throws {
        let limiter = HTTPRateLimiter(Quota(rate: 1, period: .seconds(60), burst: 1), clock: ManualClock())
        let channel = try makeChannel(limiter: limiter)
        _ = try send(channel)
        try answer(channel)
        _ = try responses(channel)
        _ = try send(channel, .HEAD)
        var parts: [HTTPServerResponsePart] = []
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) { parts.append(part) }
        #expect(parts.count == 2, "head and end only")
        guard case .head(let head)? = parts.first else { Issue.record("no head"); return }
        #expect(head.status == .tooManyRequests)
        #expect(head.headers["Content-Length"].first.flatMap(Int.init) ?? 0 > 0)
        #expect(channel.isActive)

        _ = try send(channel, headers: ["Connection": "close"])
        let closing = try responses(channel)
        #expect(closing.map(\.head.status) == [.tooManyRequests])
        #expect(closing.first?.head.headers["Connection"] == ["close"])
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive, "the handler closes after a 429 to a client that did not keep alive")
    }

    @Test("several policies: the first to deny is reported, and the others are refunded")
    func severalPolicies() throws {
        let limiter = HTTPRateLimiter(policies: [
            try RateLimitPolicy(name: "per-second", parsing: "10/s burst 3"),
            try RateLimitPolicy(name: "per-minute", parsing: "2/min"),
        ], clock: ManualClock())
        let channel = try makeChannel(limiter: limiter)
        defer { _ = try? channel.finish() }
        for _ in 0..<3 { _ = try send(channel); if limiter.counts.limited == 0 { try answer(channel) } }
        let answers = try responses(channel)
        #expect(answers.map(\.head.status) == [.ok, .ok, .tooManyRequests])
        #expect(answers.last?.head.headers["RateLimit-Policy"] == ["\"per-minute\";q=2;w=60"])
        #expect(answers.last?.head.headers["Retry-After"] == ["30"])
        // The denied request's token went back to the per-second bucket: the two admitted
        // requests spent 2 of its 3 tokens at the same instant, so 1 is left.
        let peer = LimiterKey(ipv4: 192, 0, 2, 7)
        #expect(limiter.tables[0].peek(peer, quota: limiter.policies[0].quota).remaining == 1)
    }
}
