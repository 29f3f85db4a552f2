import Levee
import Testing

/// The library example of docs/library.md and README.md, compiled and run verbatim
/// (a local `print` collects its output).
@Suite struct LibraryExampleTests {
    @Test func readmeExampleRunsAsDocumented() throws {
        var lines: [String] = []
        func print(_ line: String) { lines.append(line) }

        // --- begin example (keep identical to docs/library.md and README.md) ---
        // 10 requests per minute per client, at most 2 at once.
        let quota = try Quota(parsing: "10/min burst 2")
        let perClient = KeyedRateLimiter(capacity: 100_000)  // 1.6 MB, whatever clients arrive
        let client = LimiterKey(ipv4: 192, 0, 2, 7)

        for request in 1...3 {
            let decision = perClient.acquire(client, quota: quota)
            if decision.isAllowed {
                print("request \(request): allowed, \(decision.remaining) left")
            } else {
                print("request \(request): 429, Retry-After: \(decision.retryAfterSeconds)")
            }
        }
        // request 1: allowed, 1 left
        // request 2: allowed, 0 left
        // request 3: 429, Retry-After: 6
        // --- end example ---

        #expect(lines == [
            "request 1: allowed, 1 left",
            "request 2: allowed, 0 left",
            "request 3: 429, Retry-After: 6",
        ])
    }
}
