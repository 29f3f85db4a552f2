import Levee
import NIOHTTP1
import Testing

@testable import LeveeProxy

@Suite struct FilterResponseTests {
    @Test func retryAfterRoundsUpToWholeSeconds() {
        #expect(RateLimitHeaders.retryAfterValue(.milliseconds(1)) == "1")
        #expect(RateLimitHeaders.retryAfterValue(.milliseconds(1000)) == "1")
        #expect(RateLimitHeaders.retryAfterValue(.milliseconds(1001)) == "2")
        #expect(RateLimitHeaders.retryAfterValue(.seconds(12)) == "12")
        #expect(RateLimitHeaders.retryAfterValue(.zero) == "1")
        #expect(RateLimitHeaders.ceilSeconds(.nanoseconds(11_000_000_001)) == 12)
        #expect(RateLimitHeaders.ceilSeconds(.nanoseconds(-5)) == 0)
    }

    @Test func structuredFieldSyntax() {
        let perIP = RateLimitHeaders.Policy(name: "per-ip", quota: 100, windowSeconds: 60)
        let subnet = RateLimitHeaders.Policy(name: "per-\"subnet\"", quota: 1000, windowSeconds: 60)
        #expect(RateLimitHeaders.policyValue([perIP]) == "\"per-ip\";q=100;w=60")
        #expect(RateLimitHeaders.limitValue([.init(policy: perIP, remaining: 0, resetAfter: .milliseconds(11_200))]) == "\"per-ip\";r=0;t=12")
        #expect(RateLimitHeaders.policyValue([perIP, subnet]) == "\"per-ip\";q=100;w=60, \"per-\\\"subnet\\\"\";q=1000;w=60")
        #expect(RateLimitHeaders.windowSeconds(burst: 40, rate: 20, period: .seconds(1)) == 2)
        #expect(RateLimitHeaders.windowSeconds(burst: 1, rate: 3, period: .seconds(1)) == 1)
        #expect(RateLimitHeaders.windowSeconds(burst: 100, rate: 100, period: .seconds(60)) == 60)
    }

    @Test func acceptNegotiation() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
        #expect(AcceptPreference.prefersHTML(browser))
        #expect(AcceptPreference.explicitlyAcceptsHTML(browser))
        #expect(!AcceptPreference.prefersHTML("*/*"))
        #expect(!AcceptPreference.explicitlyAcceptsHTML("*/*"))
        #expect(!AcceptPreference.prefersHTML(nil))
        #expect(!AcceptPreference.prefersHTML("application/json"))
        #expect(!AcceptPreference.prefersHTML("application/json, text/html;q=0.5"))
        #expect(!AcceptPreference.explicitlyAcceptsHTML("text/html;q=0"))
        #expect(AcceptPreference.quality(of: "text/html", in: "text/*;q=0.3, text/html;q=0.7") == 0.7)
    }

    @Test func problemJSONUnlessHTMLPreferred() throws {
        let policy = RateLimitHeaders.Policy(name: "per-ip", quota: 10, windowSeconds: 1)
        let status = RateLimitHeaders.Status(policy: policy, remaining: 0, resetAfter: .milliseconds(900))
        let json = RateLimitResponse.tooManyRequests(retryAfter: .milliseconds(100), statuses: [status], accept: "application/json")
        #expect(json.status == 429)
        #expect(json.headers.contains(.init("Content-Type", "application/problem+json")))
        #expect(json.headers.contains(.init("Retry-After", "1")))
        #expect(json.headers.contains(.init("RateLimit", "\"per-ip\";r=0;t=1")))
        #expect(json.headers.contains(.init("RateLimit-Policy", "\"per-ip\";q=10;w=1")))
        #expect(json.body.hasPrefix("{\"type\":\"about:blank\",\"title\":\"Too Many Requests\",\"status\":429,"))
        #expect(json.body.contains("\"retry_after\":1"))
        #expect(json.body.contains("\"policy\":\"per-ip\""))
        let html = RateLimitResponse.tooManyRequests(retryAfter: .seconds(3), statuses: [status], accept: "text/html")
        #expect(html.headers.contains(.init("Content-Type", "text/html; charset=utf-8")))
        #expect(html.body.contains("<h1>429 Too Many Requests</h1>"))

        let local = LocalResponse(json)
        #expect(local.status == .tooManyRequests)
        #expect(local.headers["Content-Length"] == [String(json.body.utf8.count)])
        #expect(local.headers["Retry-After"] == ["1"])
    }

    @Test func jsonAndHTMLEscaping() {
        #expect(RateLimitResponse.jsonString("a\"b\\c\n</script>") == "\"a\\\"b\\\\c\\n\\u003c/script\\u003e\"")
        #expect(RateLimitResponse.escapeHTML("<a href='x'>&</a>") == "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;")
    }
}
