import Synchronization

/// The local lease entries of one rule, bounded: `capacity` keys at most, in shards that each
/// take a lock only to find or insert an entry (spending tokens happens on the entry, lock-free).
///
/// When a shard is full, the least recently used of a few sampled entries is dropped; its
/// unspent leased tokens are lost to the fleet (never duplicated), which only ever under-admits.
final class FleetLeaseTable: Sendable {
    /// One lock and its part of the keys (a class: `Mutex` cannot be copied into an array).
    private final class Shard: Sendable {
        let entries = Mutex<[String: FleetLeaseEntry]>([:])
    }

    private let shards: [Shard]
    private let shardCapacity: Int
    let evictions = Atomic<Int>(0)

    init(capacity: Int, shardCount: Int = 32) {
        let count = max(1, min(shardCount, capacity))
        shards = (0..<count).map { _ in Shard() }
        shardCapacity = max(1, (capacity + count - 1) / count)
    }

    /// The entry for `key`, created with `make` if missing.
    func entry(for key: String, now: UInt64, make: () -> FleetLeaseEntry) -> FleetLeaseEntry {
        let shard = shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
        let entry = shard.entries.withLock { entries -> FleetLeaseEntry in
            if let found = entries[key] { return found }
            if entries.count >= shardCapacity {
                // Sample a few entries and drop the one used longest ago.
                var victim: (key: String, used: UInt64)?
                for (candidate, value) in entries.prefix(8) {
                    let used = value.lastUsed.load(ordering: .relaxed)
                    if victim == nil || used < victim!.used { victim = (candidate, used) }
                }
                if let victim {
                    entries[victim.key] = nil
                    evictions.add(1, ordering: .relaxed)
                }
            }
            let created = make()
            entries[key] = created
            return created
        }
        entry.lastUsed.store(now, ordering: .relaxed)
        return entry
    }

    /// Keys held right now.
    var count: Int { shards.reduce(0) { total, shard in total + shard.entries.withLock { $0.count } } }
}
