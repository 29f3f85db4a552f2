import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Rate limits for many keys (clients, networks, users) in one table of fixed capacity.
///
/// - **Memory is bounded** whatever keys arrive: the table is one allocation of `capacity`
///   slots of 16 bytes (a verification tag and the GCRA timestamp) plus 64 bytes per shard.
/// - **Lookups and decisions are lock-free**: a decision is a few loads and, when admitted,
///   one compare-and-swap; a denied request writes nothing. Only inserting a key not in the
///   table takes its shard's spin lock, and that never blocks lookups or decisions.
/// - **Keys are never confused**: a key's position comes from a hash with per-table random
///   seeds (so hash flooding cannot be aimed) and a 64-bit verification tag from an independent
///   hash is compared before any decision, so a client is never charged for another.
/// - **Eviction loses nothing first**: a new key takes an empty slot, or a slot whose bucket is
///   full again (such a key is indistinguishable from a new one). Only when the key's probe
///   window holds neither does it evict the entry nearest to full and count a *forced
///   eviction*; an abuser with an empty bucket is therefore the last to go, and churning keys
///   never hands it a fresh bucket.
/// - **Quotas are per call**: different keys may use different quotas in the same table (a
///   quota is a pure function argument; the slot stores only when the bucket is full again).
///
/// ```swift
/// let perClient = KeyedRateLimiter(capacity: 1 << 20)
/// let quota = try Quota(parsing: "100/s burst 20")
/// let decision = perClient.acquire(LimiterKey(ipv4: 192, 0, 2, 7), quota: quota)
/// ```
public final class KeyedRateLimiter: @unchecked Sendable {  // mutable state lives only in the Atomic words behind `words`; every other property is an immutable let
    // Word layout: `capacity` slots of 2 words (tag, TAT word) in buckets of up to 8 slots
    // (128 bytes, aligned: one adjacent-line pair), then `shardCount` headers of 8 words
    // (lock, occupied, insertions, reuses, forced evictions, padding). A key may live in one
    // of two buckets of its shard (two-choice hashing: high load without probe clusters).
    // A slot's tag is 0 when empty and `busyTag` while its owner changes; slots fill in order
    // and are never emptied, so the first empty slot ends a bucket. The TAT word holds a 4-bit
    // generation (bumped whenever the slot changes owner, so a decision racing an eviction
    // fails its compare-and-swap) and the 60-bit theoretical arrival time.
    @usableFromInline let words: UnsafeMutablePointer<Atomic<UInt64>>  // one 64-byte aligned allocation, initialized in init and freed in deinit
    @usableFromInline let headerWordBase: Int
    @usableFromInline let shardBuckets: Int
    @usableFromInline let shardBits: Int
    @usableFromInline let bucketSlots: Int
    @usableFromInline let seed0: UInt64
    @usableFromInline let seed1: UInt64
    @usableFromInline let seed2: UInt64
    @usableFromInline let seed3: UInt64

    /// The number of keys the table can hold (its slot count).
    public let capacity: Int
    /// The number of shards (a power of two); each has its own insertion lock.
    public let shardCount: Int
    /// The clock used by the calls without an explicit `at:`.
    public let clock: any LimiterClock

    @usableFromInline static let busyTag: UInt64 = 1
    @usableFromInline static let timeMask: UInt64 = (1 << 60) - 1
    @usableFromInline static let generationMask: UInt64 = ~timeMask
    @usableFromInline static let headerWords = 8

    /// Creates a table holding at most `capacity` keys.
    ///
    /// - Parameters:
    ///   - capacity: slots in the table (at least 1; rounded up to whole buckets of 8 slots
    ///     per shard). Memory is `16 × capacity` bytes plus 64 bytes per shard. Keys beyond
    ///     what fits evict as described above; give about 25 % headroom over the number of
    ///     keys expected to be active (not yet full again) at once.
    ///   - shards: insertion lock shards, rounded up to a power of two; default one per 16,384
    ///     slots, between 1 and 256.
    ///   - clock: the time source for calls without `at:`.
    public init(capacity: Int, shards: Int? = nil, clock: any LimiterClock = MonotonicClock()) {
        precondition(capacity > 0 && capacity <= 1 << 36, "capacity must be between 1 and 2^36 slots")
        var shardCount = 1
        let wanted = shards ?? min(max(capacity / 16_384, 1), 256)
        while shardCount < wanted { shardCount <<= 1 }
        shardCount = min(shardCount, max(1, capacity))
        while shardCount & (shardCount - 1) != 0 { shardCount &= shardCount - 1 }
        var bucketSlots = 8
        while bucketSlots > 1 && bucketSlots * shardCount > capacity { bucketSlots >>= 1 }
        let shardBuckets = (capacity + shardCount * bucketSlots - 1) / (shardCount * bucketSlots)
        self.shardCount = shardCount
        self.bucketSlots = bucketSlots
        self.shardBuckets = shardBuckets
        self.capacity = shardBuckets * bucketSlots * shardCount
        self.shardBits = shardCount.trailingZeroBitCount
        self.headerWordBase = 2 * self.capacity
        self.clock = clock
        var random = SystemRandomNumberGenerator()
        seed0 = random.next()
        seed1 = random.next()
        seed2 = random.next()
        seed3 = random.next()
        let wordCount = headerWordBase + shardCount * KeyedRateLimiter.headerWords
        let raw = KeyedRateLimiter.allocateTable(byteCount: wordCount * 8)
        words = raw.bindMemory(to: Atomic<UInt64>.self, capacity: wordCount)
        for index in 0..<wordCount {
            (words + index).initialize(to: Atomic(0))
        }
    }

    deinit {
        words.deinitialize(count: headerWordBase + shardCount * Self.headerWords)
        free(UnsafeMutableRawPointer(words))  // the table is one aligned allocation of atomic words, owned by this instance
    }

    /// One block for the whole table: 128-byte aligned (a bucket is an aligned line pair), and
    /// for tables of 2 MiB or more aligned to and advised as transparent huge pages, so random
    /// lookups over a large table do not also miss the TLB on every decision.
    static func allocateTable(byteCount: Int) -> UnsafeMutableRawPointer {  // the table is one aligned allocation of atomic words, owned by this instance
        let hugePage = 2 << 20
        let alignment = byteCount >= hugePage ? hugePage : 128
        var memory: UnsafeMutableRawPointer?  // the table is one aligned allocation of atomic words, owned by this instance
        guard posix_memalign(&memory, alignment, byteCount) == 0, let memory else {
            fatalError("KeyedRateLimiter: cannot allocate \(byteCount) bytes")
        }
        #if os(Linux)
        if alignment == hugePage {
            _ = madvise(memory, byteCount - byteCount % hugePage, MADV_HUGEPAGE)  // advice only: failure just means small pages
        }
        #endif
        return memory
    }

    /// Bytes of table memory (slots and shard headers).
    public var memoryBytes: Int { (headerWordBase + shardCount * Self.headerWords) * 8 }

    // MARK: - Hashing

    @usableFromInline
    struct Location {
        @usableFromInline let first: Int  // absolute slot of the first bucket's first slot
        @usableFromInline let second: Int  // absolute slot of the second bucket's first slot
        @usableFromInline let shard: Int
        @usableFromInline let tag: UInt64

        @inlinable init(first: Int, second: Int, shard: Int, tag: UInt64) {
            self.first = first
            self.second = second
            self.shard = shard
            self.tag = tag
        }
    }

    @inlinable @inline(__always)
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    @inlinable @inline(__always)
    func locate(_ key: LimiterKey) -> Location {
        let kind = UInt64(key.kind.rawValue) &* 0x9E37_79B9_7F4A_7C15
        let position = Self.mix(Self.mix(key.high ^ seed0, key.low ^ seed1) ^ kind, seed2 | 1)
        var tag = Self.mix(Self.mix(key.high ^ seed2, key.low ^ seed3) ^ kind, seed0 | 1)
        if tag <= Self.busyTag { tag &+= 2 }
        let shard = shardBits == 0 ? 0 : Int(truncatingIfNeeded: position >> UInt64(64 - shardBits))
        let buckets = UInt64(shardBuckets)
        let first = Int(truncatingIfNeeded: ((position & 0xFFFF_FFFF) &* buckets) >> 32)
        var second = Int(truncatingIfNeeded: ((tag >> 32) &* buckets) >> 32)
        if second == first { second = first &+ 1 == shardBuckets ? 0 : first &+ 1 }
        let shardStart = shard &* shardBuckets
        return Location(
            first: (shardStart &+ first) &* bucketSlots, second: (shardStart &+ second) &* bucketSlots,
            shard: shard, tag: tag)
    }

    /// The slot holding `location`'s tag, without locking; nil when the key is not in the table.
    ///
    /// A key goes to its second bucket only when the first has no empty slot, and slots are
    /// never emptied, so an empty slot in the first bucket proves the key is absent.
    @inlinable @inline(__always)
    func find(_ location: Location) -> Int? {
        for slot in location.first..<(location.first &+ bucketSlots) {
            let tag = words[2 &* slot].load(ordering: .acquiring)
            if tag == location.tag { return slot }
            if tag == 0 { return nil }
        }
        if location.second == location.first { return nil }
        for slot in location.second..<(location.second &+ bucketSlots) {
            let tag = words[2 &* slot].load(ordering: .acquiring)
            if tag == location.tag { return slot }
            if tag == 0 { return nil }
        }
        return nil
    }

    // MARK: - Decisions

    /// Takes `cost` tokens from `key`'s bucket now if it holds them.
    @inlinable
    public func acquire(_ key: LimiterKey, quota: Quota, cost: Int = 1) -> RateLimitDecision {
        acquire(key, quota: quota, cost: cost, at: clock.now())
    }

    /// Takes `cost` tokens from `key`'s bucket at `now` (nanoseconds of ``clock``) if it holds them.
    ///
    /// A key not in the table has a full bucket; it is inserted only when the request is admitted.
    @inlinable
    public func acquire(_ key: LimiterKey, quota: Quota, cost: Int = 1, at now: UInt64) -> RateLimitDecision {
        let location = locate(key)
        while true {
            let slot: Int
            if let found = find(location) {
                slot = found
            } else {
                guard cost > 0, cost <= quota.burst else {
                    return GCRA.step(stored: 0, now: now, cost: cost, quota: quota).decision
                }
                slot = insert(location, now: now)
            }
            if let decision = acquire(slot: slot, tag: location.tag, quota: quota, cost: cost, now: now) {
                return decision
            }
        }
    }

    /// The GCRA step on a slot; nil when the slot stopped belonging to `tag` (the caller looks again).
    @inlinable @inline(__always)
    func acquire(slot: Int, tag: UInt64, quota: Quota, cost: Int, now: UInt64) -> RateLimitDecision? {
        let tagIndex = 2 &* slot
        var word = words[tagIndex &+ 1].load(ordering: .acquiring)
        // Re-reading the tag after the TAT word closes the race with an owner change: if the
        // tag is still ours, `word` predates the change and a compare-and-swap on it will fail.
        guard words[tagIndex].load(ordering: .acquiring) == tag else { return nil }
        var backoff = ContentionBackoff()
        while true {
            let step = GCRA.step(stored: word & Self.timeMask, now: now, cost: cost, quota: quota)
            guard step.decision.isAllowed, step.newTAT != word & Self.timeMask else { return step.decision }
            let (exchanged, original) = words[tagIndex &+ 1].compareExchange(
                expected: word, desired: (word & Self.generationMask) | step.newTAT,
                ordering: .acquiringAndReleasing)
            if exchanged { return step.decision }
            if original & Self.generationMask != word & Self.generationMask { return nil }
            backoff.pause()
            word = original
        }
    }

    /// The state of `key`'s bucket now, without taking anything (a missing key is full).
    public func peek(_ key: LimiterKey, quota: Quota) -> RateLimitDecision {
        peek(key, quota: quota, at: clock.now())
    }

    /// The state of `key`'s bucket at `now`, without taking anything.
    public func peek(_ key: LimiterKey, quota: Quota, at now: UInt64) -> RateLimitDecision {
        let location = locate(key)
        guard let slot = find(location) else { return GCRA.peek(stored: 0, now: now, quota: quota) }
        let tagIndex = 2 * slot
        let word = words[tagIndex + 1].load(ordering: .acquiring)
        guard words[tagIndex].load(ordering: .acquiring) == location.tag else {
            return GCRA.peek(stored: 0, now: now, quota: quota)
        }
        return GCRA.peek(stored: word & Self.timeMask, now: now, quota: quota)
    }

    /// Gives back `tokens` to `key` (capped at a full bucket): the undo of an admitted request
    /// that was not carried out. A key not in the table is already full; nothing happens.
    public func refund(_ key: LimiterKey, quota: Quota, tokens: Int, at now: UInt64? = nil) {
        guard tokens > 0 else { return }
        update(key, now: now ?? clock.now(), insertIfMissing: false) { stored, now in
            GCRA.adding(tokens: tokens, to: stored, now: now, quota: quota)
        }
    }

    /// Adds `tokens` to `key`'s bucket (positive, capped at full) or takes them without a check
    /// (negative, floored at empty) — for fleet-wide leases, where tokens are spent elsewhere.
    public func addTokens(_ tokens: Int, to key: LimiterKey, quota: Quota, at now: UInt64? = nil) {
        guard tokens != 0 else { return }
        update(key, now: now ?? clock.now(), insertIfMissing: tokens < 0) { stored, now in
            GCRA.adding(tokens: tokens, to: stored, now: now, quota: quota)
        }
    }

    /// Sets `key`'s bucket to hold exactly `tokens` (clamped to 0…burst) — e.g. the share of a
    /// fleet-wide quota granted to this process.
    public func setTokens(_ tokens: Int, for key: LimiterKey, quota: Quota, at now: UInt64? = nil) {
        update(key, now: now ?? clock.now(), insertIfMissing: tokens < quota.burst) { _, now in
            GCRA.tat(holding: tokens, now: now, quota: quota)
        }
    }

    /// Applies `transform` to the key's TAT with a compare-and-swap loop.
    func update(_ key: LimiterKey, now: UInt64, insertIfMissing: Bool, _ transform: (UInt64, UInt64) -> UInt64) {
        let location = locate(key)
        while true {
            let slot: Int
            if let found = find(location) {
                slot = found
            } else {
                guard insertIfMissing else { return }
                slot = insert(location, now: now)
            }
            let tagIndex = 2 * slot
            var word = words[tagIndex + 1].load(ordering: .acquiring)
            guard words[tagIndex].load(ordering: .acquiring) == location.tag else { continue }
            while true {
                let new = (word & Self.generationMask) | (transform(word & Self.timeMask, now) & Self.timeMask)
                let (exchanged, original) = words[tagIndex + 1].compareExchange(
                    expected: word, desired: new, ordering: .acquiringAndReleasing)
                if exchanged { return }
                if original & Self.generationMask != word & Self.generationMask { break }
                word = original
            }
        }
    }
}
