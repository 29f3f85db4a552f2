import LeveeRESP
import Testing

@Suite("RESP reconnect backoff")
struct RESPBackoffTests {
    @Test("delays double from the initial value, stay within [ceiling/2, ceiling] and stop at the maximum")
    func exponentialWithJitter() {
        let backoff = RESPBackoff(initial: .milliseconds(10), maximum: .milliseconds(300))
        #expect(backoff.ceiling(attempt: 0) == .milliseconds(10))
        #expect(backoff.ceiling(attempt: 1) == .milliseconds(20))
        #expect(backoff.ceiling(attempt: 4) == .milliseconds(160))
        #expect(backoff.ceiling(attempt: 5) == .milliseconds(300))
        #expect(backoff.ceiling(attempt: 1_000) == .milliseconds(300))
        var generator = SystemRandomNumberGenerator()
        var distinct = Set<Duration>()
        for attempt in 0..<12 {
            for _ in 0..<50 {
                let delay = backoff.delay(attempt: attempt, using: &generator)
                let ceiling = backoff.ceiling(attempt: attempt)
                #expect(delay <= ceiling && delay >= ceiling / 2, "attempt \(attempt): \(delay)")
                distinct.insert(delay)
            }
        }
        #expect(distinct.count > 100, "jitter spreads the delays")
    }
}
