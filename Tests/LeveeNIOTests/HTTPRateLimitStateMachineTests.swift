@testable import LeveeNIO
import Testing

@Suite("HTTPRateLimitStateMachine")
struct HTTPRateLimitStateMachineTests {
    typealias Machine = HTTPRateLimitStateMachine<Int, String>

    @Test("a denial with nothing owed is answered at once and its parts are discarded")
    func immediateDenial() {
        var machine = Machine()
        guard case .respond("429-a") = machine.deniedHead("429-a") else { Issue.record("not answered at once"); return }
        #expect(machine.requestPart(isEnd: false) == .discard)
        #expect(machine.requestPart(isEnd: true) == .discard)
        #expect(!machine.owesResponses)
        guard case .forward = machine.admittedHead(1) else { Issue.record("next request not forwarded"); return }
        #expect(machine.requestPart(isEnd: true) == .forward)
    }

    @Test("denials behind an admitted request are held and released in order when its response ends")
    func heldDenials() {
        var machine = Machine()
        _ = machine.admittedHead(1)
        #expect(machine.requestPart(isEnd: true) == .forward)
        guard case .hold = machine.deniedHead("429-b") else { Issue.record("not held"); return }
        #expect(machine.requestPart(isEnd: true) == .discard)
        guard case .hold = machine.deniedHead("429-c") else { Issue.record("not held"); return }
        #expect(machine.requestPart(isEnd: true) == .discard)
        _ = machine.admittedHead(4)
        #expect(machine.requestPart(isEnd: true) == .forward)

        #expect(machine.finalResponseHead() == 1)
        #expect(machine.nextReleasedDenial() == nil, "nothing is released before the response ends")
        machine.responseEnded()
        #expect(machine.nextReleasedDenial() == "429-b")
        #expect(machine.nextReleasedDenial() == "429-c")
        #expect(machine.nextReleasedDenial() == nil)
        #expect(machine.finalResponseHead() == 4)
        machine.responseEnded()
        #expect(!machine.owesResponses)
    }
}

extension HTTPRateLimitStateMachine.PartAction: Equatable {}
