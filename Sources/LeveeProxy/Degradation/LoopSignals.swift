/// What one event loop observed for the tier controller since the last tick: requests received,
/// upstream exchanges and failures, upstream latency. Only touched on its loop (it lives in the
/// loop's `LoopContext`), so recording is plain arithmetic; the degradation service collects it
/// once per tick with a task on the loop (which also measures the loop's lag).
final class LoopSignals {
    private(set) var window = Sample()

    /// One tick's worth of one loop's observations.
    struct Sample: Sendable {
        var requests = 0
        var upstreamExchanges = 0
        var upstreamErrors = 0
        var latency = LatencyHistogram()

        mutating func merge(_ other: Sample) {
            requests += other.requests
            upstreamExchanges += other.upstreamExchanges
            upstreamErrors += other.upstreamErrors
            latency.merge(other.latency)
        }
    }

    init() {}

    /// A request head arrived.
    @inline(__always) func requestReceived() { window.requests &+= 1 }

    /// An upstream answered with its response head after `nanoseconds`; `failed` for a 5xx.
    func upstreamResponded(nanoseconds: Int64, failed: Bool) {
        window.upstreamExchanges += 1
        if failed { window.upstreamErrors += 1 }
        window.latency.record(nanoseconds: nanoseconds)
    }

    /// An upstream exchange failed without a response (unreachable, closed, timed out).
    func upstreamFailed() {
        window.upstreamExchanges += 1
        window.upstreamErrors += 1
    }

    /// The observations since the last call, and a fresh window.
    func take() -> Sample {
        let sample = window
        window = Sample()
        return sample
    }
}

@available(*, unavailable)
extension LoopSignals: Sendable {}
