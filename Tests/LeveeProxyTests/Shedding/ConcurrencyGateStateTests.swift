import Testing

@testable import LeveeProxy

@Suite struct ConcurrencyGateStateTests {
    private func state(limit: Int, queue: Int) -> ConcurrencyGateState<String> {
        ConcurrencyGateState(
            limit: AdaptiveConcurrencyLimit.Settings(minLimit: 1, maxLimit: limit, initialLimit: limit, adaptive: false),
            queueCapacity: queue, queueTimeout: 1_000)
    }

    @Test func admitsUpToTheLimitThenQueuesThenSheds() {
        var gate = state(limit: 2, queue: 2)
        let a101 = gate.arrive(clientClass: .unknown, now: 0) { "a" }
        #expect(isAdmitted(a101))
        let a102 = gate.arrive(clientClass: .unknown, now: 0) { "b" }
        #expect(isAdmitted(a102))
        let a103 = gate.arrive(clientClass: .unknown, now: 0) { "c" }
        #expect(ticket(a103) != nil)
        let a104 = gate.arrive(clientClass: .known, now: 0) { "d" }
        #expect(ticket(a104) != nil)
        // Full: an unknown arrival is shed, a trusted one evicts the newest unknown waiter ("c").
        let a105 = gate.arrive(clientClass: .unknown, now: 0) { "e" }
        #expect(isShed(a105))
        guard case .queued(_, let evicted) = gate.arrive(clientClass: .trusted, now: 0, waiter: { "f" }) else {
            Issue.record("trusted arrival not queued")
            return
        }
        #expect(evicted?.element == "c")
        #expect(gate.inFlight == 2 && gate.queue.count == 2)
        #expect(gate.shedCount(.unknown, .concurrency) == 2)

        // Slots go to the most trusted waiter first.
        let r1 = gate.finish(rtt: 1_000_000, dropped: false, now: 10)
        #expect(r1 == ["f"])
        let r2 = gate.finish(rtt: nil, dropped: false, now: 10)
        #expect(r2 == ["d"])
        #expect(gate.inFlight == 2 && gate.queue.isEmpty)
        let r3 = gate.finish(rtt: nil, dropped: false, now: 10)
        #expect(r3.isEmpty)
        let r4 = gate.finish(rtt: nil, dropped: false, now: 10)
        #expect(r4.isEmpty)
        #expect(gate.inFlight == 0)
        // Empty queue and a free slot: admitted at once again.
        let a106 = gate.arrive(clientClass: .suspicious, now: 20) { "g" }
        #expect(isAdmitted(a106))
    }

    @Test func aTimedOutWaiterIsShedAndAGrantedOneCannotBeWithdrawn() {
        var gate = state(limit: 1, queue: 5)
        let a107 = gate.arrive(clientClass: .known, now: 0) { "a" }
        #expect(isAdmitted(a107))
        let late = ticket(gate.arrive(clientClass: .unknown, now: 0) { "b" })!
        let next = ticket(gate.arrive(clientClass: .unknown, now: 0) { "c" })!
        let r5 = gate.withdraw(ticket: late, clientClass: .unknown, timedOut: true)
        #expect(r5)
        #expect(gate.shedCount(.unknown, .queueTimeout) == 1)
        let r6 = gate.finish(rtt: nil, dropped: false, now: 5)
        #expect(r6 == ["c"])
        // Granted meanwhile: withdrawing fails and counts nothing.
        let r7 = gate.withdraw(ticket: next, clientClass: .unknown, timedOut: true)
        #expect(!r7)
        #expect(gate.shedCount(.unknown, .queueTimeout) == 1)
        // A client that leaves is not counted as shed.
        let leaving = ticket(gate.arrive(clientClass: .unknown, now: 6) { "d" })!
        let r8 = gate.withdraw(ticket: leaving, clientClass: .unknown, timedOut: false)
        #expect(r8)
        #expect(gate.shedCount(.unknown, .queueTimeout) == 1)
        #expect(gate.inFlight == 1 && gate.queue.isEmpty)
    }

    @Test func aQueueOfZeroShedsEverythingBeyondTheLimit() {
        var gate = state(limit: 1, queue: 0)
        let a108 = gate.arrive(clientClass: .trusted, now: 0) { "a" }
        #expect(isAdmitted(a108))
        let a109 = gate.arrive(clientClass: .trusted, now: 0) { "b" }
        #expect(isShed(a109))
        #expect(gate.shedCount(.trusted, .concurrency) == 1)
    }

    private func isAdmitted(_ arrival: ConcurrencyGateState<String>.Arrival) -> Bool {
        if case .admitted = arrival { return true }
        return false
    }

    private func isShed(_ arrival: ConcurrencyGateState<String>.Arrival) -> Bool {
        if case .shed = arrival { return true }
        return false
    }

    private func ticket(_ arrival: ConcurrencyGateState<String>.Arrival) -> UInt64? {
        if case .queued(let ticket, _) = arrival { return ticket }
        return nil
    }
}
