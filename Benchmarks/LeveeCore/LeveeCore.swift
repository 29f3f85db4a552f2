// Benchmarks of the limiter core (ordo-one/benchmark). Run from Benchmarks/:
//   swift package --allow-writing-to-package-directory benchmark --target LeveeCore
//   swift package benchmark thresholds check --target LeveeCore
// Thresholds (Benchmarks/Thresholds/) pin allocations on the hot path to zero and catch large
// throughput regressions; side-by-side figures against Go are produced by peers/core.sh.
import Benchmark
import Levee
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(thread)` on `count` OS threads at once and waits for them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Job: Sendable {
        let index: Int
        let body: @Sendable (Int) -> Void
        init(index: Int, body: @escaping @Sendable (Int) -> Void) {
            self.index = index
            self.body = body
        }
    }
    var handles: [pthread_t] = []
    for index in 0..<count {
        var handle = pthread_t()
        pthread_create(&handle, nil, { argument in
            let job = Unmanaged<Job>.fromOpaque(argument!).takeRetainedValue()
            job.body(job.index)
            return nil
        }, Unmanaged.passRetained(Job(index: index, body: body)).toOpaque())
        handles.append(handle)
    }
    for handle in handles { pthread_join(handle, nil) }
}

/// Xorshift64*, as in the peers: cheap, so the benchmark measures the limiter.
struct Xorshift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }
}

let keyCount = 1_000_000
let capacity = 1_250_000
let allowAll = Quota(rate: 1_000_000_000, period: .seconds(1), burst: 1_000_000)
let perClient = Quota(rate: 100, period: .seconds(1), burst: 100)

/// The 1M-key table, filled once (setup is not measured).
let filledTable: KeyedRateLimiter = {
    let table = KeyedRateLimiter(capacity: capacity)
    for index in 0..<keyCount {
        _ = table.acquire(LimiterKey(ipv4: 0x0A00_0000 | UInt32(index)), quota: perClient)
    }
    return table
}()

func randomKeys(_ table: KeyedRateLimiter, decisions: Int, seed: UInt64) -> Int {
    var random = Xorshift(state: seed)
    var admitted = 0
    for _ in 0..<decisions {
        let index = UInt32(truncatingIfNeeded: ((random.next() >> 32) &* UInt64(keyCount)) >> 32)
        if table.acquire(LimiterKey(ipv4: 0x0A00_0000 | index), quota: perClient).isAllowed { admitted += 1 }
    }
    return admitted
}

let benchmarks: @Sendable () -> Void = {
    // Two threads on two shared cores swing far more than one: only collapses count there.
    let twoThreads = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 1, scalingFactor: .mega, maxDuration: .seconds(2), maxIterations: 50,
        thresholds: [
            .mallocCountTotal: .init(absolute: [.p50: 0, .p90: 0]),
            .throughput: .init(relative: [.p50: 80, .p90: 80]),
            .wallClock: .init(relative: [.p50: 400, .p90: 400]),
        ])

    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 1,
        scalingFactor: .mega,
        maxDuration: .seconds(2),
        maxIterations: 50,
        thresholds: [
            // Decisions never allocate: any allocation at all is a regression.
            .mallocCountTotal: .init(absolute: [.p50: 0, .p90: 0]),
            // The machine is shared: only a large drop in throughput (or rise in time) counts.
            .throughput: .init(relative: [.p50: 50, .p90: 50]),
            .wallClock: .init(relative: [.p50: 100, .p90: 100]),
        ]
    )

    Benchmark("one-key-1-thread") { benchmark in
        let table = KeyedRateLimiter(capacity: 1024)
        let key = LimiterKey(ipv4: 10, 0, 0, 1)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(table.acquire(key, quota: allowAll).isAllowed)
        }
    }

    Benchmark("one-key-2-threads", configuration: twoThreads) { benchmark in
        let table = KeyedRateLimiter(capacity: 1024)
        let key = LimiterKey(ipv4: 10, 0, 0, 1)
        let perThread = benchmark.scaledIterations.count / 2
        benchmark.startMeasurement()
        onThreads(2) { _ in
            for _ in 0..<perThread { blackHole(table.acquire(key, quota: allowAll).isAllowed) }
        }
    }

    Benchmark("deny-path-1-thread") { benchmark in
        let table = KeyedRateLimiter(capacity: 1024)
        let key = LimiterKey(ipv4: 10, 0, 0, 1)
        let quota = Quota(rate: 1, period: .seconds(3600), burst: 1)
        _ = table.acquire(key, quota: quota)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(table.acquire(key, quota: quota).isAllowed)
        }
    }

    Benchmark("deny-path-2-threads", configuration: twoThreads) { benchmark in
        let table = KeyedRateLimiter(capacity: 1024)
        let key = LimiterKey(ipv4: 10, 0, 0, 1)
        let quota = Quota(rate: 1, period: .seconds(3600), burst: 1)
        _ = table.acquire(key, quota: quota)
        let perThread = benchmark.scaledIterations.count / 2
        benchmark.startMeasurement()
        onThreads(2) { _ in
            for _ in 0..<perThread { blackHole(table.acquire(key, quota: quota).isAllowed) }
        }
    }

    Benchmark("1M-keys-random-1-thread") { benchmark in
        let table = filledTable
        benchmark.startMeasurement()
        blackHole(randomKeys(table, decisions: benchmark.scaledIterations.count, seed: 1))
    }

    Benchmark("1M-keys-random-2-threads", configuration: twoThreads) { benchmark in
        let table = filledTable
        let perThread = benchmark.scaledIterations.count / 2
        benchmark.startMeasurement()
        onThreads(2) { thread in blackHole(randomKeys(table, decisions: perThread, seed: UInt64(thread) + 7)) }
    }

    Benchmark("insert-1M-new-keys", configuration: .init(maxIterations: 10)) { benchmark in
        let table = KeyedRateLimiter(capacity: capacity)
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations {
            blackHole(table.acquire(LimiterKey(ipv4: 0x0B00_0000 | UInt32(truncatingIfNeeded: index)), quota: perClient).isAllowed)
        }
        benchmark.stopMeasurement()
    }

    Benchmark(
        "memory-per-tracked-key",
        configuration: .init(
            metrics: [.custom("table-bytes-per-tracked-key", polarity: .prefersSmaller, useScalingFactor: false)],
            scalingFactor: .one, maxIterations: 1,
            thresholds: [.custom("table-bytes-per-tracked-key", polarity: .prefersSmaller, useScalingFactor: false):
                .init(absolute: [.p50: 0])])
    ) { benchmark in
        let table = filledTable
        benchmark.measurement(
            .custom("table-bytes-per-tracked-key", polarity: .prefersSmaller, useScalingFactor: false),
            table.memoryBytes / table.statistics.trackedKeys)
    }
}
