import Foundation

/// Turns one tick's observations (summed over the event loops) into the controller's signals:
/// rates over the elapsed time, a p99 of the tick, and moving averages (EWMA with time constant
/// `smoothing`) of upstream latency and error rate. With no upstream traffic in a tick the
/// averages decay toward zero, so that a quiet service can calm down. Pure value type.
struct SignalAggregator: Sendable {
    var smoothing: Duration
    var capacityRPS: Double?
    private(set) var latencyAverage = 0.0
    private(set) var errorRate = 0.0

    init(smoothing: Duration, capacityRPS: Double?) {
        self.smoothing = smoothing
        self.capacityRPS = capacityRPS
    }

    mutating func signals(
        from sample: LoopSignals.Sample, elapsedNanoseconds: UInt64, inFlight: Int, loopLagNanoseconds: UInt64
    ) -> DegradationSignals {
        let elapsed = max(Double(elapsedNanoseconds) / 1e9, 1e-6)
        let tau = max(Double(TierController.nanoseconds(smoothing)) / 1e9, 1e-6)
        let alpha = 1 - exp(-elapsed / tau)
        let latency = sample.latency
        latencyAverage += alpha * ((latency.count > 0 ? latency.mean : 0) - latencyAverage)
        let errors = sample.upstreamExchanges > 0 ? Double(sample.upstreamErrors) / Double(sample.upstreamExchanges) : 0
        errorRate += alpha * (errors - errorRate)
        let rate = Double(sample.requests) / elapsed
        return DegradationSignals(
            requestRate: rate, load: capacityRPS.map { rate / $0 }, latencyAverage: latencyAverage,
            latencyP99: latency.quantile(0.99), errorRate: errorRate, inFlight: inFlight,
            loopLag: Double(loopLagNanoseconds) / 1e9)
    }
}
