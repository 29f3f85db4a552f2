import NIOCore
import Synchronization

/// Gathers the per-loop observations between ticks without ever waiting for a loop: each tick
/// posts a probe task to every loop that has none pending; the probe hands over the loop's
/// window and how late it ran (the loop's lag). A loop too busy to run its probe by the next
/// tick counts as lagging by the time its probe has waited.
final class SignalCollector: Sendable {
    private let state: Mutex<State>

    private struct State {
        var pendingSince: [NIODeadline?]
        var collected = LoopSignals.Sample()
        var maxLagNanoseconds: Int64 = 0
    }

    init(loops: Int) {
        state = Mutex(State(pendingSince: Array(repeating: nil, count: loops)))
    }

    /// Marks a probe to loop `index` as sent at `now`; false when the previous one is still pending.
    func beginProbe(_ index: Int, at now: NIODeadline) -> Bool {
        state.withLock { state in
            guard state.pendingSince[index] == nil else { return false }
            state.pendingSince[index] = now
            return true
        }
    }

    /// The probe to loop `index` ran at `ranAt` and took `sample` from the loop.
    func finishProbe(_ index: Int, sample: LoopSignals.Sample, ranAt: NIODeadline) {
        state.withLock { state in
            if let sent = state.pendingSince[index] {
                state.maxLagNanoseconds = max(state.maxLagNanoseconds, (ranAt - sent).nanoseconds)
            }
            state.pendingSince[index] = nil
            state.collected.merge(sample)
        }
    }

    /// Everything collected since the last drain, and the largest lag seen (including probes
    /// still pending at `now`).
    func drain(now: NIODeadline) -> (sample: LoopSignals.Sample, lagNanoseconds: UInt64) {
        state.withLock { state in
            var lag = state.maxLagNanoseconds
            for case let sent? in state.pendingSince { lag = max(lag, (now - sent).nanoseconds) }
            let sample = state.collected
            state.collected = LoopSignals.Sample()
            state.maxLagNanoseconds = 0
            return (sample, UInt64(max(0, lag)))
        }
    }
}
