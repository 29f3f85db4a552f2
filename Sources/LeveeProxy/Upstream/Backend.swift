import NIOCore
import Synchronization

/// One backend of an upstream pool, shared by every event loop: its address and its passive
/// health. Health is a couple of atomics written only when a request fails or recovers, so the
/// common path (a healthy backend answering) reads them without writing.
final class Backend: Sendable {
    let address: BackendAddress
    /// Resolved once when the configuration is applied (nil: resolve per connect, e.g. a name).
    let socketAddress: SocketAddress?
    private let consecutiveFailureCount = Atomic<Int>(0)
    /// `NIODeadline.uptimeNanoseconds` until which an ejected backend is skipped.
    private let ejectedUntil = Atomic<Int64>(0)
    /// Requests currently sent to this backend, over all event loops (least-in-flight, status).
    private let inFlightCount = Atomic<Int>(0)

    init(address: BackendAddress) {
        self.address = address
        self.socketAddress = try? SocketAddress(ipAddress: address.host, port: address.port)
    }

    var consecutiveFailures: Int { consecutiveFailureCount.load(ordering: .relaxed) }
    var inFlight: Int { inFlightCount.load(ordering: .relaxed) }

    func isHealthy(maxFailures: Int) -> Bool { consecutiveFailures < maxFailures }

    /// Whether a request may be sent now. An ejected backend whose rest is over lets exactly one
    /// request through (the probe) by pushing its deadline forward; the probe's outcome decides.
    /// `now` is read only for an ejected backend (a healthy one, the usual case, needs no clock).
    func admits(now: @autoclosure () -> NIODeadline, maxFailures: Int, ejectionTime: TimeAmount) -> Bool {
        if consecutiveFailures < maxFailures { return true }
        let until = ejectedUntil.load(ordering: .relaxed)
        let nowNanos = Int64(truncatingIfNeeded: now().uptimeNanoseconds)
        if nowNanos < until { return false }
        return ejectedUntil.compareExchange(
            expected: until, desired: nowNanos + ejectionTime.nanoseconds, ordering: .relaxed
        ).exchanged
    }

    func recordSuccess() {
        if consecutiveFailureCount.load(ordering: .relaxed) != 0 {
            consecutiveFailureCount.store(0, ordering: .relaxed)
        }
    }

    func recordFailure(now: NIODeadline, maxFailures: Int, ejectionTime: TimeAmount) {
        let failures = consecutiveFailureCount.wrappingAdd(1, ordering: .relaxed).newValue
        if failures >= maxFailures {
            ejectedUntil.store(Int64(truncatingIfNeeded: now.uptimeNanoseconds) + ejectionTime.nanoseconds, ordering: .relaxed)
        }
    }

    func requestStarted() { inFlightCount.wrappingAdd(1, ordering: .relaxed) }
    func requestFinished() { inFlightCount.wrappingSubtract(1, ordering: .relaxed) }
}
