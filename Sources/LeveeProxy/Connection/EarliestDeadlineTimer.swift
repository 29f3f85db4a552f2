import NIOCore

/// One timer that fires no later than the earliest deadline asked of it. A handler with several
/// deadlines keeps one of these instead of scheduling and cancelling a timer per deadline: a
/// deadline that moves later costs nothing, and the handler re-arms for the next one when it fires.
/// Used on the handler's event loop only.
struct EarliestDeadlineTimer {
    private var scheduled: Scheduled<Void>?
    /// When the armed timer fires; `distantFuture` when none is armed.
    private(set) var firesAt = NIODeadline.distantFuture

    /// Makes sure `fire` runs on `eventLoop` no later than `deadline`.
    mutating func arm(by deadline: NIODeadline, on eventLoop: any EventLoop, _ fire: @escaping () -> Void) {
        guard deadline < firesAt else { return }
        scheduled?.cancel()
        firesAt = deadline
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: deadline, fire)
    }

    /// Call first when the timer fires: nothing is armed any more.
    mutating func fired() {
        scheduled = nil
        firesAt = .distantFuture
    }

    mutating func cancel() {
        scheduled?.cancel()
        fired()
    }
}
