import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension KeyedRateLimiter {
    // Shard header word offsets.
    static let lockWord = 0
    static let occupiedWord = 1
    static let insertionsWord = 2
    static let reusesWord = 3
    static let forcedEvictionsWord = 4

    /// Puts `location`'s key in its probe window under the shard lock and returns its slot
    /// (another thread may have inserted it meanwhile). The new bucket is full.
    @usableFromInline
    func insert(_ location: Location, now: UInt64) -> Int {
        let header = headerWordBase + location.shard * Self.headerWords
        lockShard(header)
        defer { words[header + Self.lockWord].store(0, ordering: .releasing) }
        while true {
            // Preference: an empty slot of the first bucket, then of the second (only when the
            // first has none), so keys stay resident while there is room; then a full-again
            // slot of either (nothing is lost); then the nearest-to-full entry (forced).
            var nearest = -1
            var nearestWait = UInt64.max
            var chosen = -1
            var chosenIsEmpty = false
            var firstReusable = -1
            buckets: for pass in 0..<2 {
                if pass == 1 && location.second == location.first { break }
                let bucket = pass == 0 ? location.first : location.second
                var reusable = -1
                var empty = -1
                for slot in bucket..<(bucket + bucketSlots) {
                    let tag = words[2 * slot].load(ordering: .acquiring)
                    if tag == location.tag { return slot }
                    if tag == 0 { empty = slot; break }
                    let time = words[2 * slot + 1].load(ordering: .acquiring) & Self.timeMask
                    if time <= now {
                        if reusable < 0 { reusable = slot }
                    } else if time - now < nearestWait {
                        nearestWait = time - now
                        nearest = slot
                    }
                }
                if empty >= 0 { chosen = empty; chosenIsEmpty = true; break buckets }
                if reusable >= 0 && firstReusable < 0 { firstReusable = reusable }
            }
            if chosen < 0 { chosen = firstReusable }
            if chosenIsEmpty {
                let tatIndex = 2 * chosen + 1
                let old = words[tatIndex].load(ordering: .relaxed)
                words[tatIndex].store(Self.nextGeneration(old), ordering: .releasing)
                words[2 * chosen].store(location.tag, ordering: .releasing)
                words[header + Self.occupiedWord].wrappingAdd(1, ordering: .relaxed)
                words[header + Self.insertionsWord].wrappingAdd(1, ordering: .relaxed)
                return chosen
            }
            if chosen >= 0 {
                if claim(chosen, for: location.tag, now: now, requireFull: true) {
                    words[header + Self.reusesWord].wrappingAdd(1, ordering: .relaxed)
                    words[header + Self.insertionsWord].wrappingAdd(1, ordering: .relaxed)
                    return chosen
                }
                continue  // its owner spent tokens meanwhile: look again
            }
            if nearest >= 0, claim(nearest, for: location.tag, now: now, requireFull: false) {
                words[header + Self.forcedEvictionsWord].wrappingAdd(1, ordering: .relaxed)
                words[header + Self.insertionsWord].wrappingAdd(1, ordering: .relaxed)
                return nearest
            }
        }
    }

    /// A TAT word for a new owner: next generation, time 0 (a full bucket).
    static func nextGeneration(_ word: UInt64) -> UInt64 {
        (word & generationMask) &+ (1 << 60)
    }

    /// Hands `slot` to `tag`: marks it busy (lookups skip it), bumps its generation with a
    /// compare-and-swap (decisions racing on the old owner fail theirs), then publishes the tag.
    /// Fails, restoring the old owner, when the bucket changed since it was inspected.
    private func claim(_ slot: Int, for tag: UInt64, now: UInt64, requireFull: Bool) -> Bool {
        let tagIndex = 2 * slot
        let oldTag = words[tagIndex].load(ordering: .relaxed)
        let word = words[tagIndex + 1].load(ordering: .acquiring)
        if requireFull && word & Self.timeMask > now { return false }
        words[tagIndex].store(Self.busyTag, ordering: .releasing)
        let (exchanged, _) = words[tagIndex + 1].compareExchange(
            expected: word, desired: Self.nextGeneration(word), ordering: .acquiringAndReleasing)
        words[tagIndex].store(exchanged ? tag : oldTag, ordering: .releasing)
        return exchanged
    }

    /// Spins on the shard's lock word, yielding the CPU after a short while.
    private func lockShard(_ header: Int) {
        var spins = 0
        while !words[header + Self.lockWord].compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            while words[header + Self.lockWord].load(ordering: .relaxed) != 0 {
                spins += 1
                if spins > 64 { sched_yield() }
            }
        }
    }
}
