/// A tiny log-linear latency histogram (4 buckets per power of two, about 19% resolution) for the
/// per-second time line, where a full HdrHistogram per second would cost too much memory.
public struct CoarseHistogram: Sendable, Equatable {
    public private(set) var buckets: [UInt32] = []
    public private(set) var count: UInt64 = 0

    /// An empty histogram.
    public init() {}

    static func index(_ micros: UInt64) -> Int {
        let v = max(micros, 1)
        let top = 63 - v.leadingZeroBitCount
        let sub = top >= 2 ? Int((v >> UInt64(top - 2)) & 3) : 0
        return top * 4 + sub
    }

    static func upperBound(_ index: Int) -> UInt64 {
        let top = index / 4, sub = index % 4
        if top < 2 { return UInt64(1) << UInt64(top + 1) }
        return (UInt64(4 + sub + 1) << UInt64(top - 2))
    }

    /// Counts one value in microseconds.
    public mutating func record(micros: UInt64) {
        let i = Self.index(micros)
        if buckets.count <= i { buckets.append(contentsOf: repeatElement(0, count: i + 1 - buckets.count)) }
        buckets[i] &+= 1
        count += 1
    }

    /// Adds another histogram's counts.
    public mutating func add(_ other: CoarseHistogram) {
        if buckets.count < other.buckets.count {
            buckets.append(contentsOf: repeatElement(0, count: other.buckets.count - buckets.count))
        }
        for (i, c) in other.buckets.enumerated() { buckets[i] &+= c }
        count += other.count
    }

    /// Upper bound of the bucket holding the given percentile, in microseconds (0 when empty).
    public func percentile(_ p: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = UInt64((p / 100 * Double(count)).rounded(.up))
        var seen: UInt64 = 0
        for (i, c) in buckets.enumerated() {
            seen += UInt64(c)
            if seen >= max(rank, 1) { return Self.upperBound(i) }
        }
        return Self.upperBound(buckets.count - 1)
    }
}
