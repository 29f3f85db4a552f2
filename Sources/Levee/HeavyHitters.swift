import Synchronization

/// "Who is flooding me right now": top-K keys by weight in bounded memory, safe to feed from
/// every event loop at once.
///
/// The choice: one ``SpaceSavingSketch`` per stripe, each behind its own `Mutex`. Give each
/// event loop its own stripe (``record(_:weight:stripe:)`` with the loop's index): the lock is
/// then never contended by other writers, and `record` only *tries* it — if a reader is merging
/// that stripe at that instant, the sample is dropped and counted in ``droppedSamples`` instead
/// of waiting. So the hot path never blocks. Readers (``top(_:)``, at most a few times a second
/// for `/status`) lock each stripe briefly in turn and merge the sketches; the merged counts
/// stay upper bounds whose error is the sum of the stripes' errors.
public final class HeavyHitters: Sendable {
    private let stripes: [Stripe]
    private let dropped: StripedCounter
    /// Keys each stripe tracks.
    public let capacityPerStripe: Int

    private final class Stripe: Sendable {
        let sketch: Mutex<SpaceSavingSketch>
        // Keeps neighbouring stripes' mutexes off one cache line.
        let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
        init(capacity: Int) { sketch = Mutex(SpaceSavingSketch(capacity: capacity)) }
    }

    /// Creates a tracker with `stripes` sketches (one per event loop) of `capacity` keys each.
    public init(capacity: Int = 64, stripes: Int) {
        precondition(stripes > 0, "at least one stripe")
        capacityPerStripe = capacity
        self.stripes = (0..<stripes).map { _ in Stripe(capacity: capacity) }
        dropped = StripedCounter(stripes: stripes)
    }

    /// Number of stripes.
    public var stripeCount: Int { stripes.count }

    /// Adds `weight` to `key` on `stripe` (modulo the stripe count) without ever waiting.
    public func record(_ key: LimiterKey, weight: UInt64 = 1, stripe: Int) {
        let index = stripe % stripes.count
        let recorded: Bool? = stripes[index].sketch.withLockIfAvailable { sketch in
            sketch.record(key, weight: weight)
            return true
        }
        if recorded == nil { dropped.add(1, stripe: index) }
    }

    /// Samples dropped because their stripe was being read at that instant.
    public var droppedSamples: Int { dropped.value }

    /// The heaviest keys over all stripes, heaviest first.
    public func top(_ limit: Int = 10) -> [HeavyHitter] {
        var merged: [LimiterKey: HeavyHitter] = [:]
        var floors: [UInt64] = []
        var snapshots: [[HeavyHitter]] = []
        for stripe in stripes {
            let (entries, floor) = stripe.sketch.withLock { ($0.top(), $0.minimumCount) }
            snapshots.append(entries)
            floors.append(floor)
        }
        // A key missing from a full stripe may still have up to that stripe's minimum there.
        let floorSum = floors.reduce(0, &+)
        for (stripe, entries) in snapshots.enumerated() {
            for entry in entries {
                var total = merged[entry.key] ?? HeavyHitter(key: entry.key, count: floorSum, error: floorSum)
                total.count = total.count &- floors[stripe] &+ entry.count
                total.error = total.error &- floors[stripe] &+ entry.error
                merged[entry.key] = total
            }
        }
        let sorted = merged.values.sorted { $0.count != $1.count ? $0.count > $1.count : $0.error < $1.error }
        return Array(sorted.prefix(limit))
    }

    /// Forgets everything (e.g. at the start of each observation window).
    public func reset() {
        for stripe in stripes { stripe.sketch.withLock { $0.reset() } }
    }
}
