extension KeyedRateLimiter {
    /// Counters of a keyed table, summed over shards when read.
    public struct Statistics: Sendable, Hashable {
        /// Slots in the table.
        public var capacity: Int
        /// Slots holding a key (including keys whose bucket is full again).
        public var trackedKeys: Int
        /// Keys placed in the table since it was created.
        public var insertions: Int
        /// Insertions that took the slot of a key whose bucket was full again (nothing lost).
        public var reusedSlots: Int
        /// Insertions that evicted a key whose bucket was not full (the nearest to full in the
        /// probe window). Steadily rising: the table is too small for the active keys.
        public var forcedEvictions: Int
        /// Bytes of table memory.
        public var memoryBytes: Int
    }

    /// The table's counters now (relaxed reads: each is exact, their sum is a snapshot).
    public var statistics: Statistics {
        var result = Statistics(capacity: capacity, trackedKeys: 0, insertions: 0, reusedSlots: 0,
                                forcedEvictions: 0, memoryBytes: memoryBytes)
        for shard in 0..<shardCount {
            let header = headerWordBase + shard * Self.headerWords
            result.trackedKeys += Int(words[header + Self.occupiedWord].load(ordering: .relaxed))
            result.insertions += Int(words[header + Self.insertionsWord].load(ordering: .relaxed))
            result.reusedSlots += Int(words[header + Self.reusesWord].load(ordering: .relaxed))
            result.forcedEvictions += Int(words[header + Self.forcedEvictionsWord].load(ordering: .relaxed))
        }
        return result
    }
}
