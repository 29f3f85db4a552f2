/// A fixed-bucket latency histogram for one tick: buckets grow by half powers of two from 64 µs
/// (2⁻¹⁶ s × 2^k and 1.5 × that), so recording is a shift and a bit test, and the p99 estimate is
/// within a factor of 1.5. Value type: each event loop keeps its own and hands it over per tick.
public struct LatencyHistogram: Sendable, Equatable {
    /// 65 536 ns: the width of bucket 0.
    static let unitShift = 16
    static let bucketCount = 48
    public private(set) var buckets: [Int]
    public private(set) var count = 0
    /// Sum of the recorded latencies, in nanoseconds.
    public private(set) var sumNanoseconds = 0

    public init() { buckets = Array(repeating: 0, count: Self.bucketCount) }

    public mutating func record(nanoseconds: Int64) {
        let ns = max(0, nanoseconds)
        buckets[Self.bucket(of: UInt64(ns))] += 1
        count += 1
        sumNanoseconds &+= Int(ns)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for i in 0..<buckets.count { buckets[i] += other.buckets[i] }
        count += other.count
        sumNanoseconds &+= other.sumNanoseconds
    }

    /// Mean in seconds (0 when empty).
    public var mean: Double { count == 0 ? 0 : Double(sumNanoseconds) / Double(count) / 1e9 }

    /// The upper edge of the bucket holding the `fraction` quantile, in seconds (0 when empty).
    public func quantile(_ fraction: Double) -> Double {
        guard count > 0 else { return 0 }
        let rank = max(1, Int((Double(count) * fraction).rounded(.up)))
        var seen = 0
        for (i, n) in buckets.enumerated() {
            seen += n
            if seen >= rank { return Double(Self.upperEdge(of: i)) / 1e9 }
        }
        return Double(Self.upperEdge(of: buckets.count - 1)) / 1e9
    }

    static func bucket(of nanoseconds: UInt64) -> Int {
        let units = nanoseconds >> UInt64(unitShift)
        guard units > 0 else { return 0 }
        let exponent = UInt64.bitWidth - 1 - units.leadingZeroBitCount
        let half = exponent > 0 && units & (1 << UInt64(exponent - 1)) != 0 ? 1 : 0
        return min(bucketCount - 1, 1 + 2 * exponent + half)
    }

    /// Exclusive upper edge of bucket `index`, in nanoseconds.
    static func upperEdge(of index: Int) -> UInt64 {
        guard index > 0 else { return 1 << UInt64(unitShift) }
        let exponent = (index - 1) / 2
        let lower: UInt64 = 1 << UInt64(exponent)
        let units: UInt64
        if exponent == 0 {
            units = 2
        } else if (index - 1) % 2 == 0 {
            units = lower + lower / 2
        } else {
            units = lower * 2
        }
        return units << UInt64(unitShift)
    }
}
