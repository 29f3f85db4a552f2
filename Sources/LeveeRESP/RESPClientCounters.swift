import Synchronization

/// The client's counters: relaxed atomics, updated once per command on the client's event loop
/// and read from anywhere (a snapshot need not be one consistent instant).
final class RESPClientCounters: Sendable {
    let connected = Atomic<Bool>(false)
    let commandsSent = Atomic<Int>(0)
    let replies = Atomic<Int>(0)
    let serverErrors = Atomic<Int>(0)
    let timeouts = Atomic<Int>(0)
    let connectionErrors = Atomic<Int>(0)
    let connects = Atomic<Int>(0)
    let connectFailures = Atomic<Int>(0)
    let latencySum = Atomic<Int>(0)
    let latencyMaximum = Atomic<Int>(0)

    func record(_ result: Result<RESPValue, any Error>, latencyNanoseconds: Int) {
        switch result {
        case .success:
            replies.add(1, ordering: .relaxed)
            latencySum.add(latencyNanoseconds, ordering: .relaxed)
            var seen = latencyMaximum.load(ordering: .relaxed)
            while latencyNanoseconds > seen {
                let (exchanged, original) = latencyMaximum.compareExchange(
                    expected: seen, desired: latencyNanoseconds, ordering: .relaxed)
                if exchanged { break }
                seen = original
            }
        case .failure(RESPError.server):
            serverErrors.add(1, ordering: .relaxed)
        case .failure(RESPError.timeout):
            timeouts.add(1, ordering: .relaxed)
        case .failure:
            connectionErrors.add(1, ordering: .relaxed)
        }
    }

    var snapshot: RESPClientStatistics {
        RESPClientStatistics(
            isConnected: connected.load(ordering: .relaxed),
            commandsSent: commandsSent.load(ordering: .relaxed),
            replies: replies.load(ordering: .relaxed),
            serverErrors: serverErrors.load(ordering: .relaxed),
            timeouts: timeouts.load(ordering: .relaxed),
            connectionErrors: connectionErrors.load(ordering: .relaxed),
            connects: connects.load(ordering: .relaxed),
            connectFailures: connectFailures.load(ordering: .relaxed),
            latencySumNanoseconds: latencySum.load(ordering: .relaxed),
            latencyMaximumNanoseconds: latencyMaximum.load(ordering: .relaxed))
    }
}
