/// One estimate of a heavy hitter: `count` over-estimates the key's true weight by at most
/// `error`, so the true weight lies in `count - error ... count`.
public struct HeavyHitter: Sendable, Hashable {
    /// The key.
    public var key: LimiterKey
    /// Estimated total weight (an upper bound).
    public var count: UInt64
    /// Maximum over-estimation in `count`.
    public var error: UInt64

    /// Creates an estimate.
    public init(key: LimiterKey, count: UInt64, error: UInt64) {
        self.key = key
        self.count = count
        self.error = error
    }
}

/// The Space-Saving top-K sketch (Metwally, Agrawal, El Abbadi 2005) in fixed memory.
///
/// It tracks `capacity` keys. A key that is tracked has its weight added; an untracked key
/// replaces the tracked key with the smallest count and inherits that count as its error. Any
/// key whose true weight exceeds `total / capacity` is guaranteed to be tracked. Updates are
/// O(log capacity) (a min-heap plus an open-addressing index) and never allocate.
///
/// A value type with no locking: one per thread or event loop, or behind ``HeavyHitters``.
public struct SpaceSavingSketch: Sendable {
    private var keys: [LimiterKey]
    private var counts: [UInt64]
    private var errors: [UInt64]
    private var indexSlot: [Int32]  // heap position -> index slot
    private var index: [Int32]  // open addressing: index slot -> heap position, -1 when empty
    private let indexMask: Int
    private let seed: UInt64
    /// How many keys the sketch tracks at most.
    public let capacity: Int
    /// Number of keys tracked now.
    public private(set) var count: Int = 0
    /// Total weight recorded.
    public private(set) var totalWeight: UInt64 = 0

    /// Creates an empty sketch tracking at most `capacity` keys.
    public init(capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
        var size = 4
        while size < 2 * capacity { size <<= 1 }
        indexMask = size - 1
        index = Array(repeating: -1, count: size)
        keys = Array(repeating: LimiterKey(0), count: capacity)
        counts = Array(repeating: 0, count: capacity)
        errors = Array(repeating: 0, count: capacity)
        indexSlot = Array(repeating: -1, count: capacity)
        var random = SystemRandomNumberGenerator()
        seed = random.next()
    }

    /// The smallest count tracked (0 until the sketch is full): the error bound of any newcomer.
    public var minimumCount: UInt64 { count < capacity ? 0 : counts[0] }

    /// Adds `weight` to `key`.
    public mutating func record(_ key: LimiterKey, weight: UInt64 = 1) {
        totalWeight &+= weight
        if let position = find(key) {
            counts[position] &+= weight
            siftDown(position)
            return
        }
        if count < capacity {
            let position = count
            count += 1
            keys[position] = key
            counts[position] = weight
            errors[position] = 0
            insertIndex(key, position: position)
            siftUp(position)
            return
        }
        // Replace the minimum (the heap root); the newcomer inherits its count as error.
        removeIndex(slot: Int(indexSlot[0]))
        keys[0] = key
        errors[0] = counts[0]
        counts[0] &+= weight
        insertIndex(key, position: 0)
        siftDown(0)
    }

    /// The tracked keys, heaviest first.
    public func top(_ limit: Int? = nil) -> [HeavyHitter] {
        var all = (0..<count).map { HeavyHitter(key: keys[$0], count: counts[$0], error: errors[$0]) }
        all.sort { $0.count != $1.count ? $0.count > $1.count : $0.error < $1.error }
        return Array(all.prefix(limit ?? all.count))
    }

    /// Forgets everything (for a fresh observation window).
    public mutating func reset() {
        for slot in index.indices { index[slot] = -1 }
        count = 0
        totalWeight = 0
    }

    // MARK: - Index

    private func hashSlot(_ key: LimiterKey) -> Int {
        let mixed = (key.high ^ seed).multipliedFullWidth(by: key.low ^ UInt64(key.kind.rawValue) ^ 0x9E37_79B9_7F4A_7C15)
        return Int(truncatingIfNeeded: mixed.high ^ mixed.low) & indexMask
    }

    private func find(_ key: LimiterKey) -> Int? {
        var slot = hashSlot(key)
        while true {
            let position = index[slot]
            if position < 0 { return nil }
            if keys[Int(position)] == key { return Int(position) }
            slot = (slot + 1) & indexMask
        }
    }

    private mutating func insertIndex(_ key: LimiterKey, position: Int) {
        var slot = hashSlot(key)
        while index[slot] >= 0 { slot = (slot + 1) & indexMask }
        index[slot] = Int32(position)
        indexSlot[position] = Int32(slot)
    }

    /// Backward-shift deletion keeps linear probing free of tombstones.
    private mutating func removeIndex(slot removed: Int) {
        var hole = removed
        var slot = (removed + 1) & indexMask
        while index[slot] >= 0 {
            let position = Int(index[slot])
            let home = hashSlot(keys[position])
            // Move the entry into the hole when its home is not in (hole, slot].
            if (slot - home) & indexMask >= (slot - hole) & indexMask {
                index[hole] = index[slot]
                indexSlot[position] = Int32(hole)
                hole = slot
            }
            slot = (slot + 1) & indexMask
        }
        index[hole] = -1
    }

    // MARK: - Heap

    private mutating func swapAt(_ a: Int, _ b: Int) {
        keys.swapAt(a, b)
        counts.swapAt(a, b)
        errors.swapAt(a, b)
        indexSlot.swapAt(a, b)
        index[Int(indexSlot[a])] = Int32(a)
        index[Int(indexSlot[b])] = Int32(b)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard counts[child] < counts[parent] else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            let right = left + 1
            let smaller = right < count && counts[right] < counts[left] ? right : left
            guard counts[smaller] < counts[parent] else { return }
            swapAt(parent, smaller)
            parent = smaller
        }
    }
}
