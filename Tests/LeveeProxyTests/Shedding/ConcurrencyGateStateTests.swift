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
        #expect(isAdmitted(gate.arrive(clientClass: .unknown, now: 0) { "a" }))
        #expect(isAdmitted(gate.arrive(clientClass: .unknown, now: 0) { "b" }))
        #expect(ticket(gate.arrive(clientClass: .unknown, now: 0) { "c" }) != nil)
        #expect(ticket(gate.arrive(clientClass: .known, now: 0) { "d" }) != nil)
        // Full: an unknown arrival is shed, a trusted one evicts the newest unknown waiter ("c").
        #expect(isShed(gate.arrive(clientClass: .unknown, now: 0) { "e" }))
        guard case .queued(_, let evicted) = gate.arrive(clientClass: .trusted, now: 0, waiter: { "f" }) else {
            Issue.record("trusted arrival not queued")
            return
        }
        #expect(evicted?.element == "c")
        #expect(gate.inFlight == 2 && gate.queue.count == 2)
        #expect(gate.shedCount(.unknown, .concurrency) == 2)

        // Slots go to the most trusted waiter first.
        #expect(gate.finish(rtt: 1_000_000, dropped: false, now: 10) == ["f"])
        #expect(gate.finish(rtt: nil, dropped: false, now: 10) == ["d"])
        #expect(gate.inFlight == 2 && gate.queue.isEmpty)
        #expect(gate.finish(rtt: nil, dropped: false, now: 10).isEmpty)
        #expect(gate.finish(rtt: nil, dropped: false, now: 10).isEmpty)
        #expect(gate.inFlight == 0)
        // Empty queue and a free slot: admitted at once again.
        #expect(isAdmitted(gate.arrive(clientClass: .suspicious, now: 20) { "g" }))
    }

    @Test func aTimedOutWaiterIsShedAndAGrantedOneCannotBeWithdrawn() {
        var gate = state(limit: 1, queue: 5)
        #expect(isAdmitted(gate.arrive(clientClass: .known, now: 0) { "a" }))
        let late = ticket(gate.arrive(clientClass: .unknown, now: 0) { "b" })!
        let next = ticket(gate.arrive(clientClass: .unknown, now: 0) { "c" })!
        #expect(gate.withdraw(ticket: late, clientClass: .unknown, timedOut: true))
        #expect(gate.shedCount(.unknown, .queueTimeout) == 1)
        #expect(gate.finish(rtt: nil, dropped: false, now: 5) == ["c"])
        // Granted meanwhile: withdrawing fails and counts nothing.
        #expect(!gate.withdraw(ticket: next, clientClass: .unknown, timedOut: true))
        #expect(gate.shedCount(.unknown, .queueTimeout) == 1)
        // A client that leaves is not counted as shed.
        let leaving = ticket(gate.arrive(clientClass: .unknown, now: 6) { "d" })!
        #expect(gate.withdraw(ticket: leaving, clientClass: .unknown, timedOut: false))
        #expect(gate.shedCount(.unknown, .queueTimeout) == 1)
        #expect(gate.inFlight == 1 && gate.queue.isEmpty)
    }

    @Test func aQueueOfZeroShedsEverythingBeyondTheLimit() {
        var gate = state(limit: 1, queue: 0)
        #expect(isAdmitted(gate.arrive(clientClass: .trusted, now: 0) { "a" }))
        #expect(isShed(gate.arrive(clientClass: .trusted, now: 0) { "b" }))
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
