import Levee
import Synchronization
import Testing

@Suite struct HeavyHittersTests {
    @Test func spaceSavingFindsTheHeavyKeysWithinItsBounds() {
        var sketch = SpaceSavingSketch(capacity: 32)
        var random = SeededGenerator(seed: 7)
        var truth: [LimiterKey: UInt64] = [:]
        // Three floods among 20,000 one-off addresses.
        let floods = [LimiterKey(ipv4: 198, 51, 100, 1), LimiterKey(ipv4: 198, 51, 100, 2), LimiterKey(ipv4: 198, 51, 100, 3)]
        for step in 0..<60_000 {
            let key: LimiterKey
            switch random.next() % 3 {
            case 0: key = floods[step % 3]
            default: key = LimiterKey(ipv4: 0x0A00_0000 | UInt32.random(in: 0..<20_000, using: &random))
            }
            sketch.record(key)
            truth[key, default: 0] += 1
        }
        #expect(sketch.totalWeight == 60_000)
        let top = sketch.top(3)
        #expect(Set(top.map(\.key)) == Set(floods))
        for entry in sketch.top() {
            let actual = truth[entry.key] ?? 0
            #expect(entry.count - entry.error <= actual && actual <= entry.count, "\(entry)")
        }
        // Any key above total / capacity is tracked.
        let tracked = Set(sketch.top().map(\.key))
        for (key, count) in truth where count > 60_000 / 32 { #expect(tracked.contains(key)) }
    }

    @Test func stripedTrackerMergesAndNeverBlocksWriters() {
        let hitters = HeavyHitters(capacity: 16, stripes: 4)
        let flood = LimiterKey("flooder")
        let reads = Atomic<Int>(0)
        runOnThreads(5) { thread in
            if thread == 4 {
                // A reader merging continuously while the writers record.
                for _ in 0..<200 { _ = hitters.top(3); reads.wrappingAdd(1, ordering: .relaxed) }
                return
            }
            for index in 0..<20_000 {
                hitters.record(index % 2 == 0 ? flood : LimiterKey(UInt64(thread * 100_000 + index)), stripe: thread)
            }
        }
        #expect(reads.load(ordering: .relaxed) == 200)
        let top = hitters.top(1)
        #expect(top.first?.key == flood)
        // Every sample either landed in a sketch or was counted as dropped.
        let floodCount = top.first!.count
        #expect(floodCount + UInt64(hitters.droppedSamples) >= 40_000)
        #expect(floodCount - top.first!.error <= 40_000)
    }
}
