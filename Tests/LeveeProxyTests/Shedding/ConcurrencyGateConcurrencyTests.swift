import LeveeTestSupport
import Levee
import Synchronization
import Testing

@testable import LeveeProxy

/// A waiter a test task can await: `resume` may come before or after `wait` starts.
private final class AwaitableWaiter: ConcurrencyWaiter {
    private struct State {
        var decision: AdmissionDecision?
        var continuation: CheckedContinuation<AdmissionDecision, Never>?
        var resumptions = 0
    }
    private let state = Mutex(State())

    func resume(_ decision: AdmissionDecision) {
        let continuation = state.withLock { state -> CheckedContinuation<AdmissionDecision, Never>? in
            state.resumptions += 1
            if let continuation = state.continuation {
                state.continuation = nil
                return continuation
            }
            state.decision = decision
            return nil
        }
        continuation?.resume(returning: decision)
    }

    func wait() async -> AdmissionDecision {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> AdmissionDecision? in
                if let decision = state.decision { return decision }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    var resumptions: Int { state.withLock { $0.resumptions } }
}

private final class Tally: Sendable {
    let holding = Atomic<Int>(0)
    let mostHeld = Atomic<Int>(0)
    let admitted = Atomic<Int>(0)
    let granted = Atomic<Int>(0)
    let shedOnArrival = Atomic<Int>(0)
    let evicted = Atomic<Int>(0)
    let timedOut = Atomic<Int>(0)
    let doubleResumptions = Atomic<Int>(0)
}

@Suite(.timeLimit(.minutes(1))) struct ConcurrencyGateConcurrencyTests {
    /// Many tasks (on several threads) admit, wait, withdraw, evict and finish at once: every
    /// request is accounted for exactly once, the gate ends empty, and never more than the limit
    /// hold a slot.
    @Test func admitAndFinishFromManyTasksKeepCountsAndTheLimit() async {
        let limit = 4
        let configuration = ConcurrencyConfiguration(adaptive: false, minLimit: 1, maxLimit: limit, queue: 6)
        let gate = ConcurrencyGate<AwaitableWaiter>(pool: "test", configuration: configuration)
        let tally = Tally()
        let tasks = 32
        let perTask = 150
        let classes: [ClientClass] = [.trusted, .verified, .known, .unknown, .suspicious]

        @Sendable func hold(_ random: inout SeededGenerator) async {
            let now = tally.holding.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue
            tally.mostHeld.max(now, ordering: .sequentiallyConsistent)
            await Task.yield()
            tally.holding.wrappingSubtract(1, ordering: .sequentiallyConsistent)
            gate.finish(rtt: 1_000_000 + random.next() % 1_000_000, dropped: random.next() % 20 == 0)
        }

        await withTaskGroup(of: Void.self) { group in
            for index in 0..<tasks {
                group.addTask {
                    var random = SeededGenerator(seed: UInt64(index) + 1)
                    for _ in 0..<perTask {
                        let clientClass = classes[Int(random.next() % UInt64(classes.count))]
                        let waiter = AwaitableWaiter()
                        switch gate.admit(clientClass: clientClass, waiter: { waiter }) {
                        case .admitted:
                            tally.admitted.wrappingAdd(1, ordering: .relaxed)
                            await hold(&random)
                        case .queued(let ticket):
                            if random.next() % 4 == 0, gate.withdraw(ticket: ticket, clientClass: clientClass, timedOut: true) {
                                tally.timedOut.wrappingAdd(1, ordering: .relaxed)
                                continue
                            }
                            switch await waiter.wait() {
                            case .granted:
                                tally.granted.wrappingAdd(1, ordering: .relaxed)
                                await hold(&random)
                            case .evicted:
                                tally.evicted.wrappingAdd(1, ordering: .relaxed)
                            }
                            if waiter.resumptions != 1 { tally.doubleResumptions.wrappingAdd(1, ordering: .relaxed) }
                        case .shed:
                            tally.shedOnArrival.wrappingAdd(1, ordering: .relaxed)
                        }
                    }
                }
            }
        }

        let admitted = tally.admitted.load(ordering: .relaxed)
        let granted = tally.granted.load(ordering: .relaxed)
        let shed = tally.shedOnArrival.load(ordering: .relaxed)
        let evicted = tally.evicted.load(ordering: .relaxed)
        let timedOut = tally.timedOut.load(ordering: .relaxed)
        #expect(admitted + granted + shed + evicted + timedOut == tasks * perTask)
        #expect(tally.mostHeld.load(ordering: .relaxed) <= limit)
        #expect(tally.mostHeld.load(ordering: .relaxed) >= 1)
        #expect(tally.doubleResumptions.load(ordering: .relaxed) == 0)
        let reading = gate.reading
        #expect(reading.inFlight == 0 && reading.queueDepth == 0)
        let status = gate.status()
        let countedConcurrency = ClientClass.allCases.reduce(0) { $0 + status.shed($1, .concurrency) }
        let countedTimeout = ClientClass.allCases.reduce(0) { $0 + status.shed($1, .queueTimeout) }
        #expect(countedConcurrency == shed + evicted)
        #expect(countedTimeout == timedOut)
    }
}
