import NIOCore
import Synchronization

/// A fixed service capacity for the demo backend, so that a benchmark has a backend that saturates
/// the way a real service does: it completes at most `requestsPerSecond` requests per second, each
/// taking at least `serviceTime`; requests beyond that rate wait in a FIFO queue (their latency
/// grows with the backlog), and a request that would wait longer than `maxQueue` is refused at
/// once (503), as a service with a bounded work queue does.
///
/// The queue is virtual: one atomic word holds the time at which the next request may start
/// (a GCRA-style schedule with no burst), so admission is one load and one compare-and-swap shared
/// by every event loop, and a refused request changes nothing.
public final class DemoCapacity: Sendable {
    /// Sustained completions per second.
    public let requestsPerSecond: Int
    /// Minimum time each request takes, added after its queueing delay.
    public let serviceTime: TimeAmount
    /// Longest queueing delay accepted; beyond it the request is refused.
    public let maxQueue: TimeAmount

    private let intervalNanoseconds: Int64
    /// Uptime (nanoseconds) at which the next admitted request starts its service.
    private let nextStart = Atomic<Int64>(0)

    /// What happens to one request.
    public enum Admission: Sendable, Equatable {
        /// Answer after this delay (queueing plus service time).
        case serve(after: TimeAmount)
        /// The queue is full: answer 503 now.
        case overloaded
    }

    /// - Parameters:
    ///   - requestsPerSecond: the capacity, at least 1.
    ///   - serviceTime: added to every request's latency (not to the spacing between requests).
    ///   - maxQueue: the largest queueing delay accepted.
    public init(requestsPerSecond: Int, serviceTime: TimeAmount = .zero, maxQueue: TimeAmount = .seconds(1)) {
        precondition(requestsPerSecond > 0, "capacity must be positive")
        self.requestsPerSecond = requestsPerSecond
        self.serviceTime = max(serviceTime, .zero)
        self.maxQueue = max(maxQueue, .zero)
        self.intervalNanoseconds = max(1, 1_000_000_000 / Int64(requestsPerSecond))
    }

    /// Admits one request arriving at `now`: it takes the next free start slot, unless that slot is
    /// more than `maxQueue` away.
    public func admit(now: NIODeadline = .now()) -> Admission {
        let arrival = Int64(truncatingIfNeeded: now.uptimeNanoseconds)
        var next = nextStart.load(ordering: .relaxed)
        while true {
            let start = max(arrival, next)
            let wait = start - arrival
            if wait > maxQueue.nanoseconds { return .overloaded }
            let (exchanged, original) = nextStart.compareExchange(
                expected: next, desired: start + intervalNanoseconds, ordering: .relaxed)
            if exchanged { return .serve(after: .nanoseconds(wait) + serviceTime) }
            next = original
        }
    }
}
