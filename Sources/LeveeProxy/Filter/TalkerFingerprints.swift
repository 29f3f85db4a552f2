import Levee
import Synchronization

/// The TLS fingerprints (JA4) each client key was seen with, so that `/status` and
/// `GET /admin/top` can show them beside the top talkers. Bounded like the top-talker sketch:
/// one table per stripe (event loop), tried without waiting on the request path (a sample is
/// skipped if a reader holds the stripe), at most `maxPerKey` fingerprints per key, and two
/// generations of at most `capacity` keys: when the current one fills it becomes the previous
/// one and the oldest is dropped, so a heavy talker, seen again and again, is always present.
final class TalkerFingerprints: Sendable {
    private let stripes: [Stripe]
    let capacity: Int
    let maxPerKey: Int

    /// `Mutex` is not copyable: each lives in its own object.
    private final class Stripe: Sendable {
        let tables = Mutex(Tables())
    }

    private struct Tables {
        var current: [LimiterKey: [String]] = [:]
        var previous: [LimiterKey: [String]] = [:]
    }

    init(capacity: Int, stripes: Int, maxPerKey: Int = 4) {
        self.capacity = max(1, capacity)
        self.maxPerKey = maxPerKey
        self.stripes = (0..<max(1, stripes)).map { _ in Stripe() }
    }

    /// Notes that `key` used `ja4`; never waits.
    func record(_ key: LimiterKey, ja4: String, stripe: Int) {
        let capacity = self.capacity
        let maxPerKey = self.maxPerKey
        _ = stripes[stripe % stripes.count].tables.withLockIfAvailable { tables -> Void in
            if let seen = tables.current[key] {
                if seen.count < maxPerKey, !seen.contains(ja4) { tables.current[key]!.append(ja4) }
                return
            }
            if tables.current.count >= capacity {
                tables.previous = tables.current
                tables.current = [:]
            }
            var seen = tables.previous[key] ?? []
            if seen.count < maxPerKey, !seen.contains(ja4) { seen.append(ja4) }
            tables.current[key] = seen
        }
    }

    /// The fingerprints seen for `key` on any stripe, sorted, at most `maxPerKey`.
    func fingerprints(of key: LimiterKey) -> [String] {
        var all: Set<String> = []
        for stripe in stripes {
            stripe.tables.withLock { tables in
                for ja4 in tables.current[key] ?? [] { all.insert(ja4) }
                for ja4 in tables.previous[key] ?? [] { all.insert(ja4) }
            }
        }
        return Array(all.sorted().prefix(maxPerKey))
    }

    /// Forgets everything (with the top talkers).
    func reset() {
        for stripe in stripes { stripe.tables.withLock { $0 = Tables() } }
    }
}
