import Testing

@testable import LeveeProxy

@Suite struct ClassPriorityQueueTests {
    private func drain(_ queue: inout ClassPriorityQueue<String>) -> [String] {
        var out: [String] = []
        while let entry = queue.popFirst() { out.append(entry.element) }
        return out
    }

    @Test func mostTrustedClassFirstThenFirstInFirstOut() {
        var queue = ClassPriorityQueue<String>(capacity: 10)
        let arrivals: [(String, ClientClass)] = [
            ("u1", .unknown), ("s1", .suspicious), ("t1", .trusted), ("k1", .known), ("u2", .unknown),
            ("v1", .verified), ("t2", .trusted), ("k2", .known),
        ]
        for (name, clientClass) in arrivals {
            guard case .queued = queue.enqueue(name, clientClass: clientClass, deadline: 100) else {
                Issue.record("\(name) was not queued")
                return
            }
        }
        #expect(queue.count == 8)
        #expect(queue.count(of: .unknown) == 2)
        #expect(drain(&queue) == ["t1", "t2", "v1", "k1", "k2", "u1", "u2", "s1"])
        #expect(queue.isEmpty)
    }

    @Test func aFullQueueEvictsTheNewestOfTheLeastTrustedClassForAMoreTrustedArrival() {
        var queue = ClassPriorityQueue<String>(capacity: 4)
        for (name, clientClass) in [("k1", ClientClass.known), ("u1", .unknown), ("u2", .unknown), ("k2", .known)] {
            _ = queue.enqueue(name, clientClass: clientClass, deadline: 100)
        }
        // Full. A trusted arrival pushes out the newest unknown waiter.
        guard case .queuedEvicting(_, let evicted) = queue.enqueue("t1", clientClass: .trusted, deadline: 100) else {
            Issue.record("trusted arrival not queued")
            return
        }
        #expect(evicted.element == "u2" && evicted.clientClass == .unknown)
        // A known arrival evicts the last unknown; then known is the least trusted class present.
        guard case .queuedEvicting(_, let second) = queue.enqueue("k3", clientClass: .known, deadline: 100) else {
            Issue.record("known arrival not queued")
            return
        }
        #expect(second.element == "u1")
        // Nothing less trusted than known remains: known, unknown and suspicious arrivals are refused.
        for clientClass in [ClientClass.known, .unknown, .suspicious] {
            guard case .rejected = queue.enqueue("x", clientClass: clientClass, deadline: 100) else {
                Issue.record("\(clientClass) arrival was not refused")
                return
            }
        }
        // A verified arrival still gets in, at the expense of the newest known waiter.
        guard case .queuedEvicting(_, let third) = queue.enqueue("v1", clientClass: .verified, deadline: 100) else {
            Issue.record("verified arrival not queued")
            return
        }
        #expect(third.element == "k3")
        #expect(queue.count == 4)
        #expect(drain(&queue) == ["t1", "v1", "k1", "k2"])
    }

    @Test func aQueueOfCapacityZeroRefusesEveryone() {
        var queue = ClassPriorityQueue<Int>(capacity: 0)
        guard case .rejected = queue.enqueue(1, clientClass: .trusted, deadline: 1) else {
            Issue.record("queued in a zero-capacity queue")
            return
        }
        #expect(queue.isEmpty)
    }

    @Test func waitersLeaveByTicketOrWhenTheirDeadlinePasses() {
        var queue = ClassPriorityQueue<String>(capacity: 10)
        var tickets: [String: UInt64] = [:]
        for (name, clientClass, deadline) in [
            ("u1", ClientClass.unknown, UInt64(10)), ("t1", .trusted, 20), ("u2", .unknown, 30), ("u3", .unknown, 40),
        ] {
            if case .queued(let ticket) = queue.enqueue(name, clientClass: clientClass, deadline: deadline) { tickets[name] = ticket }
        }
        #expect(queue.remove(ticket: tickets["u2"]!, clientClass: .unknown)?.element == "u2")
        #expect(queue.remove(ticket: tickets["u2"]!, clientClass: .unknown) == nil)
        #expect(queue.removeExpired(now: 9).isEmpty)
        #expect(queue.removeExpired(now: 20).map(\.element).sorted() == ["t1", "u1"])
        #expect(queue.count == 1)
        #expect(drain(&queue) == ["u3"])
    }
}
