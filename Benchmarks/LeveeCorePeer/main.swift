// levee-core-peer: the Levee side of `Benchmarks/peers/core.sh`.
//
// Runs the same workloads as peers/core-go/main.go (same keys, key counts, threads and run
// time) and prints one `RESULT <impl> <workload> <threads> <value>` line per measurement,
// the median of `--repeat` runs. Decisions read the clock each time, as Go's `Allow()` does.
import Levee
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var seconds = 1.0
    var repeats = 3
    var keys = 1_000_000
    var capacity = 1_250_000
    var threads = [1, 2]
    var clock = "precise"

    init(_ arguments: [String]) {
        var index = 1
        while index < arguments.count {
            let value = index + 1 < arguments.count ? arguments[index + 1] : ""
            switch arguments[index] {
            case "--seconds": seconds = Double(value) ?? seconds
            case "--repeat": repeats = Int(value) ?? repeats
            case "--keys": keys = Int(value) ?? keys
            case "--capacity": capacity = Int(value) ?? capacity
            case "--threads": threads = value.split(separator: ",").compactMap { Int($0) }
            case "--clock": clock = value
            default: fatalError("unknown argument \(arguments[index])")
            }
            index += 2
        }
    }
}

/// Xorshift64*: the same cheap generator as the Go peer, so both pick keys alike.
struct Xorshift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }
}

final class Job: Sendable {
    let index: Int
    let stop: Atomic<Bool>
    let done: Atomic<Int>
    let body: @Sendable (Int, borrowing Atomic<Bool>) -> Int
    init(index: Int, body: @escaping @Sendable (Int, borrowing Atomic<Bool>) -> Int) {
        self.index = index
        self.stop = Atomic(false)
        self.done = Atomic(-1)
        self.body = body
    }
}

/// CPU seconds used by the process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Decisions per wall-clock second and per CPU-second of the process.
struct Rate {
    var wall: Double
    var cpu: Double
}

/// Runs `body` on `threads` OS threads for `seconds`; returns total operations per second.
func measure(threads: Int, seconds: Double, _ body: @escaping @Sendable (Int, borrowing Atomic<Bool>) -> Int) -> Rate {
    let jobs = (0..<threads).map { Job(index: $0, body: body) }
    let clock = MonotonicClock()
    let start = clock.now()
    let cpuStart = cpuSeconds()
    var handles: [pthread_t] = []
    for job in jobs {
        var handle = pthread_t()
        pthread_create(&handle, nil, { argument in
            let job = Unmanaged<Job>.fromOpaque(argument!).takeRetainedValue()
            job.done.store(job.body(job.index, job.stop), ordering: .releasing)
            return nil
        }, Unmanaged.passRetained(job).toOpaque())
        handles.append(handle)
    }
    usleep(UInt32(seconds * 1_000_000))
    for job in jobs { job.stop.store(true, ordering: .releasing) }
    for handle in handles { pthread_join(handle, nil) }
    let elapsed = Double(clock.now() - start) / 1e9
    let cpu = cpuSeconds() - cpuStart
    let total = Double(jobs.reduce(0) { $0 + $1.done.load(ordering: .acquiring) })
    return Rate(wall: total / elapsed, cpu: total / cpu)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

nonisolated(unsafe) var implementation = "levee"  // set once in main() before any thread starts

func report(_ workload: String, _ threads: Int, repeats: Int, _ runs: () -> Rate) {
    let rates = (0..<repeats).map { _ in runs() }
    print("RESULT \(implementation) \(workload) \(threads) \(Int(median(rates.map(\.wall))))")
    print("CPU \(implementation) \(workload) \(threads) \(Int(median(rates.map(\.cpu))))")
}

func main() {
let options = Options(CommandLine.arguments)
let batch = 1024
// The limiter's clock: `precise` (MonotonicClock, the default) or `coarse` (CoarseMonotonicClock).
// MonotonicClock reads the CPU counter unless the kernel does not keep time with it or
// LEVEE_CLOCK=monotonic is set: then it calls clock_gettime, reported as `levee-gettime`.
let clock: any LimiterClock = options.clock == "coarse" ? CoarseMonotonicClock() : MonotonicClock()
implementation = options.clock == "coarse" ? "levee-coarse" : MonotonicClock.readsCPUCounter ? "levee" : "levee-gettime"

// One key, every decision admitted (every decision writes: the contended case).
let allowAll = Quota(rate: 1_000_000_000, period: .seconds(1), burst: 1_000_000)
// One key flooded: 100/s, so nearly every decision is a deny (which writes nothing).
let flood = Quota(rate: 100, period: .seconds(1), burst: 100)
// Per-client quota of the 1M-key runs: generous, so decisions are admitted.
let perClient = Quota(rate: 100, period: .seconds(1), burst: 100)

for threads in options.threads {
    report("one-key", threads, repeats: options.repeats) {
        let table = KeyedRateLimiter(capacity: 1024, clock: clock)
        let key = LimiterKey(ipv4: 10, 0, 0, 1)
        return measure(threads: threads, seconds: options.seconds) { _, stop in
            var count = 0
            while !stop.load(ordering: .relaxed) {
                for _ in 0..<batch where table.acquire(key, quota: allowAll).isAllowed { count += 1 }
            }
            return count
        }
    }
    report("one-key-flood", threads, repeats: options.repeats) {
        let table = KeyedRateLimiter(capacity: 1024, clock: clock)
        let key = LimiterKey(ipv4: 10, 0, 0, 1)
        return measure(threads: threads, seconds: options.seconds) { _, stop in
            var count = 0
            while !stop.load(ordering: .relaxed) {
                for _ in 0..<batch { _ = table.acquire(key, quota: flood); count += 1 }
            }
            return count
        }
    }
}

// 1M keys: one table filled with every key first (timed: the insertion rate), then random picks.
let keyCount = options.keys
for threads in options.threads {
    var insertRuns: [Double] = []
    var keyedRuns: [Rate] = []
    for _ in 0..<options.repeats {
        let table = KeyedRateLimiter(capacity: options.capacity, clock: clock)
        let clock = MonotonicClock()
        let start = clock.now()
        let perThread = (keyCount + threads - 1) / threads
        measureOnce(threads: threads) { thread in
            var admitted = 0
            for index in (thread * perThread)..<min(keyCount, (thread + 1) * perThread)
            where table.acquire(LimiterKey(ipv4: 0x0A00_0000 | UInt32(index)), quota: perClient).isAllowed {
                admitted += 1
            }
            return admitted
        }
        insertRuns.append(Double(keyCount) / (Double(clock.now() - start) / 1e9))
        let statistics = table.statistics
        if threads == options.threads.last && keyedRuns.isEmpty {
            print("INFO \(implementation) table capacity=\(table.capacity) tracked=\(statistics.trackedKeys) forced-evictions=\(statistics.forcedEvictions) bytes=\(table.memoryBytes)")
            print("RESULT \(implementation) bytes-per-key 0 \(Double(table.memoryBytes) / Double(keyCount))")
        }
        keyedRuns.append(measure(threads: threads, seconds: options.seconds) { thread, stop in
            var random = Xorshift(state: 0x9E37_79B9_7F4A_7C15 &+ UInt64(thread) &* 7919)
            var count = 0
            while !stop.load(ordering: .relaxed) {
                for _ in 0..<batch {
                    let index = UInt32(truncatingIfNeeded: ((random.next() >> 32) &* UInt64(keyCount)) >> 32)
                    if table.acquire(LimiterKey(ipv4: 0x0A00_0000 | index), quota: perClient).isAllowed { count += 1 }
                }
            }
            return count
        })
    }
    print("RESULT \(implementation) insert-1M \(threads) \(Int(median(insertRuns)))")
    print("RESULT \(implementation) keyed-1M \(threads) \(Int(median(keyedRuns.map(\.wall))))")
    print("CPU \(implementation) keyed-1M \(threads) \(Int(median(keyedRuns.map(\.cpu))))")
}

}

/// Runs `body` once on `threads` threads (no time limit).
func measureOnce(threads: Int, _ body: @escaping @Sendable (Int) -> Int) {
    _ = measure(threads: threads, seconds: 0) { thread, _ in body(thread) }
}

main()
