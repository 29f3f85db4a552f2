import Levee
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64: a small seeded generator so every random schedule can be replayed from its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Runs `body(index)` on `count` real OS threads at once and waits for all of them.
/// The threads start together (a spin barrier) so that they really overlap.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let barrier = Barrier(count)
    var threads: [pthread_t] = []
    for index in 0..<count {
        let job = Unmanaged.passRetained(JobBox(index: index, barrier: barrier, body: body))
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let job = Unmanaged<JobBox>.fromOpaque(argument!).takeRetainedValue()
            job.barrier.arriveAndWait()
            job.body(job.index)
            return nil
        }, job.toOpaque())
        precondition(result == 0, "pthread_create failed")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

final class JobBox: Sendable {
    let index: Int
    let barrier: Barrier
    let body: @Sendable (Int) -> Void
    init(index: Int, barrier: Barrier, body: @escaping @Sendable (Int) -> Void) {
        self.index = index
        self.barrier = barrier
        self.body = body
    }
}

/// A one-shot spin barrier.
final class Barrier: Sendable {
    private let waiting: Atomic<Int>
    init(_ count: Int) { waiting = Atomic(count) }
    func arriveAndWait() {
        waiting.wrappingSubtract(1, ordering: .acquiringAndReleasing)
        while waiting.load(ordering: .acquiring) > 0 { sched_yield() }
    }
}
