import NIOCore

extension ProxyServer {
    /// Posts a probe to every event loop that takes the loop's signal window (see `SignalCollector`).
    func probeLoops(into collector: SignalCollector) {
        let sentAt = NIODeadline.now()
        for (index, binding) in loops.enumerated() where collector.beginProbe(index, at: sentAt) {
            binding.eventLoop.execute {
                let ranAt = NIODeadline.now()
                collector.finishProbe(index, sample: binding.context.value.signals.take(), ranAt: ranAt)
            }
        }
    }

    /// Event loops serving the proxy.
    var loopCount: Int { loops.count }

    /// Requests in flight over all loops (relaxed reads of the loops' counters).
    var inFlightRequestCount: Int {
        loops.reduce(0) { $0 + $1.statistics.inFlightRequests.load(ordering: .relaxed) }
    }
}
