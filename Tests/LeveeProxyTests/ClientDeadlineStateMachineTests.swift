@testable import LeveeProxy
import Testing

@Suite struct ClientDeadlineStateMachineTests {
    typealias Machine = ClientDeadlineStateMachine

    @Test func idleThenHeadThenResponseCycle() {
        var machine = Machine(minBodyBytesPerSecond: 100)
        #expect(machine.connected() == .arm(.idle))
        #expect(machine.bytesReceived(10) == .arm(.header))
        #expect(machine.bytesReceived(10) == .none)
        #expect(machine.deadlineExpired(.idle) == .none)  // stale idle timer
        #expect(machine.headReceived(hasBody: false) == .cancelDeadline)
        #expect(machine.deadlineExpired(.header) == .none)  // stale header timer
        #expect(machine.responseFinished() == .stopRateChecksAndArmIdle)
        #expect(machine.state == .idle)
        #expect(machine.deadlineExpired(.idle) == .close(requestTimeout: false))
    }

    @Test func slowlorisGets408() {
        var machine = Machine(minBodyBytesPerSecond: 100)
        _ = machine.bytesReceived(1)
        #expect(machine.deadlineExpired(.header) == .close(requestTimeout: true))
    }

    @Test func pipelinedHeadKeepsItsDeadline() {
        var machine = Machine(minBodyBytesPerSecond: 100)
        _ = machine.bytesReceived(50)
        _ = machine.headReceived(hasBody: false)
        // The next request's head was decoded before the response finished.
        _ = machine.responseFinished()
        _ = machine.bytesReceived(5)
        #expect(machine.state == .readingHead)
        #expect(machine.responseFinished() == .none)
    }

    @Test func slowBodyClosesAfterTheGraceSecondUnlessReadsAreHeldBack() {
        var machine = Machine(minBodyBytesPerSecond: 100)
        _ = machine.bytesReceived(10)
        #expect(machine.headReceived(hasBody: true) == .cancelDeadlineAndStartRateChecks)
        _ = machine.bytesReceived(1)
        #expect(machine.rateCheckTick() == .scheduleRateCheck)  // grace second
        _ = machine.bytesReceived(500)
        #expect(machine.rateCheckTick() == .scheduleRateCheck)  // fast enough
        machine.readsHeldBack(true)
        #expect(machine.rateCheckTick() == .scheduleRateCheck)  // our back-pressure, not the client
        machine.readsHeldBack(false)
        #expect(machine.rateCheckTick() == .scheduleRateCheck)  // held back during part of this tick
        #expect(machine.rateCheckTick() == .close(requestTimeout: false))
    }

    @Test func bodyEndStopsRateChecks() {
        var machine = Machine(minBodyBytesPerSecond: 100)
        _ = machine.bytesReceived(10)
        _ = machine.headReceived(hasBody: true)
        #expect(machine.bodyFinished() == .stopRateChecks)
        #expect(machine.rateCheckTick() == .none)
        #expect(machine.responseFinished() == .stopRateChecksAndArmIdle)
    }
}
