import Levee
import Synchronization

/// A fleet limiter's counters: striped for the per-request ones (every core increments them),
/// plain relaxed atomics for the rare events.
final class FleetLimiterCounters: Sendable {
    let admitted = StripedCounter()
    let denied = StripedCounter()
    let admittedOnCredit = Atomic<Int>(0)
    let failOpenAdmitted = Atomic<Int>(0)
    let failOpenDenied = Atomic<Int>(0)
    let failClosedDenied = Atomic<Int>(0)
    let leaseRequests = Atomic<Int>(0)
    let leaseSuccesses = Atomic<Int>(0)
    let leaseFailures = Atomic<Int>(0)
    let tokensLeased = Atomic<Int>(0)
}
