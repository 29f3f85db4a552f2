import NIOCore

/// What became of a request that waited at a pool's concurrency gate.
enum AdmissionDecision: Sendable, Equatable {
    /// A slot was freed for it: forward it (and finish it at the gate when done).
    case granted
    /// A more trusted arrival pushed it out of a full queue: shed it (reason `concurrency`).
    case evicted
}

/// A request waiting at a `ConcurrencyGate`. The gate calls `resume` exactly once per waiter it
/// grants or evicts, outside its lock, on whichever thread freed the slot or evicted it.
protocol ConcurrencyWaiter: Sendable {
    func resume(_ decision: AdmissionDecision)
}

/// The proxy's waiter: the decision is carried to the event loop of the waiting connection
/// (pools are shared by every loop, a connection's state is not).
struct EventLoopWaiter: ConcurrencyWaiter {
    let eventLoop: any EventLoop
    let decided: @Sendable (AdmissionDecision) -> Void

    func resume(_ decision: AdmissionDecision) {
        // Always later, even on the same loop: the request that freed the slot finishes first.
        eventLoop.execute { decided(decision) }
    }
}
