import Foundation
import LeveeProxy
import LeveeTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

@Suite("Demo backend capacity")
struct DemoCapacityTests {
    private static let origin = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private static func at(_ milliseconds: Int64) -> NIODeadline { origin + .milliseconds(milliseconds) }

    @Test("requests within the rate are served after the service time only")
    func underCapacity() {
        let capacity = DemoCapacity(requestsPerSecond: 100, serviceTime: .milliseconds(5), maxQueue: .seconds(1))
        // One request every 10 ms (= the rate): nobody waits.
        for i in Int64(0)..<50 {
            #expect(capacity.admit(now: Self.at(i * 10)) == .serve(after: .milliseconds(5)))
        }
    }

    @Test("a burst queues: each request waits one interval more than the previous")
    func burstQueues() {
        let capacity = DemoCapacity(requestsPerSecond: 100, serviceTime: .milliseconds(2), maxQueue: .seconds(1))
        for i in Int64(0)..<20 {
            #expect(capacity.admit(now: Self.at(0)) == .serve(after: .milliseconds(10 * i + 2)))
        }
        // Once the backlog has drained, a request goes through at once again.
        #expect(capacity.admit(now: Self.at(1_000)) == .serve(after: .milliseconds(2)))
    }

    @Test("past the queue bound requests are refused, and a refusal takes no slot")
    func overflow() {
        let capacity = DemoCapacity(requestsPerSecond: 10, serviceTime: .zero, maxQueue: .milliseconds(500))
        // Slots at 0, 100, …, 500 ms are within the bound; the seventh would wait 600 ms.
        for i in Int64(0)...5 {
            #expect(capacity.admit(now: Self.at(0)) == .serve(after: .milliseconds(100 * i)))
        }
        #expect(capacity.admit(now: Self.at(0)) == .overloaded)
        #expect(capacity.admit(now: Self.at(0)) == .overloaded)
        // 100 ms later the queue has moved by one slot: exactly one more fits.
        #expect(capacity.admit(now: Self.at(100)) == .serve(after: .milliseconds(500)))
        #expect(capacity.admit(now: Self.at(100)) == .overloaded)
    }

    @Test("concurrent admissions from several threads each get a distinct slot")
    func concurrentSlots() async {
        let capacity = DemoCapacity(requestsPerSecond: 1_000, serviceTime: .zero, maxQueue: .seconds(3_600))
        let now = Self.at(0)
        let delays = await withTaskGroup(of: [Int64].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    (0..<500).map { _ -> Int64 in
                        guard case .serve(let d) = capacity.admit(now: now) else { return -1 }
                        return d.nanoseconds
                    }
                }
            }
            var all: [Int64] = []
            for await part in group { all += part }
            return all
        }
        // 4,000 requests at one instant: slots 0, 1 ms, …, 3,999 ms, each taken exactly once.
        #expect(delays.sorted() == (0..<4_000).map { Int64($0) * 1_000_000 })
    }

    @Test("end to end: the backend answers at most its capacity and 503s the overflow")
    func endToEnd() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let backend = DemoBackend(
            configuration: DemoBackendConfiguration(
                host: "127.0.0.1", port: 0, capacity: 10, serviceTime: .milliseconds(1), maxQueue: .milliseconds(1_000)),
            group: group, logger: Logger(label: "test"))
        try await backend.start()
        let port = try #require(backend.localAddress?.port)
        let started = ContinuousClock.now
        // 100 requests on 100 connections at once: the first 11 always fit in one second of queue
        // at 10/s (more if the arrivals spread over time, but all 100 only if they spread over
        // 9 s); the rest are refused at once.
        let statuses = try await withThrowingTaskGroup(of: UInt.self) { tasks in
            for _ in 0..<100 {
                tasks.addTask {
                    let responses = try await LoopbackHTTPClient.exchange([.init(.GET, "/api/hello")], port: port, timeout: .seconds(30))
                    return responses.first?.head.status.code ?? 0
                }
            }
            var all: [UInt] = []
            for try await status in tasks { all.append(status) }
            return all
        }
        let elapsed = ContinuousClock.now - started
        let served = statuses.filter { $0 == 200 }.count
        let refused = statuses.filter { $0 == 503 }.count
        #expect(served + refused == 100)
        #expect(served >= 11)
        #expect(refused >= 1)
        // 11 served at 10/s cannot all be answered in less than (11 - 1) / 10 s.
        #expect(elapsed >= .milliseconds(950))
        // Served no faster than the capacity allows: at most 10/s after the first.
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        #expect(Double(served - 1) <= 10 * seconds + 1)
    }
}
