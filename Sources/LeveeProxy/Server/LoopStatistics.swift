import Synchronization

/// Counters of one event loop: written only by that loop, summed by `statusSnapshot()`.
/// One object per loop, so loops never write the same cache line.
final class LoopStatistics: Sendable {
    let openConnections = Atomic<Int>(0)
    let inFlightRequests = Atomic<Int>(0)
    let completedRequests = Atomic<Int>(0)
    init() {}
}
