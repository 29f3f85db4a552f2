import Levee
import Synchronization

/// The tier in force, published by the degradation service and read by the flood filter on the
/// hot path (one relaxed atomic load per request), plus the counts of requests the tier policy
/// shed, per client class (striped: a flood of shed requests must not bounce one cache line).
/// One gate lives as long as the process; filters rebuilt on reload share it.
public final class TierGate: Sendable {
    private let level = Atomic<Int>(0)
    /// Shed requests per class rank.
    let shed: [StripedCounter]

    public init() {
        shed = ClientClass.allCases.map { _ in StripedCounter() }
    }

    /// The tier the filter applies now.
    public var tier: DegradationTier { DegradationTier(level: level.load(ordering: .relaxed)) }

    /// The tier's level (0...3), the cheapest read: what the filter's hot path uses.
    var currentLevel: Int { level.load(ordering: .relaxed) }

    /// Publishes `tier` to every event loop.
    func publish(_ tier: DegradationTier) { level.store(tier.level, ordering: .relaxed) }

    /// Counts one request of `clientClass` shed by the tier policy.
    func recordShed(_ clientClass: ClientClass) {
        shed[clientClass.rank].add(1, stripe: StripedCounter.currentThreadStripe)
    }

    /// Requests shed by the tier policy since start, per class.
    public func shedCounts() -> [ClientClass: Int] {
        var counts: [ClientClass: Int] = [:]
        for c in ClientClass.allCases { counts[c] = shed[c.rank].value }
        return counts
    }
}
