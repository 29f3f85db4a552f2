import CoreMetrics
import Levee
import LeveeTestSupport
import MetricsTestKit
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import LeveeProxy

/// One request on its own connection from a chosen loopback source address (any of
/// 127.0.0.0/8 on Linux), so that one test plays many clients. Reads to EOF (`Connection: close`).
private enum SourceClient {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        func value(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    static func get(port: Int, from source: String, path: String = "/") async throws -> Response {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: test.local\r\nConnection: close\r\n\r\n"))
            var received = ByteBuffer()
            // Bounded: the proxy closes after answering; the suite's time limit catches a hang.
            for try await var chunk in inbound { received.writeBuffer(&chunk) }
            let raw = String(buffer: received)
            guard let split = raw.firstRange(of: "\r\n\r\n") else { return Response(status: 0, headers: []) }
            let lines = raw[..<split.lowerBound].split(separator: "\r\n")
            let status = lines.first.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
            let fields = lines.dropFirst().compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " }))
            }
            return Response(status: status, headers: fields)
        }
    }
}

/// What the flood's clients saw.
private final class FloodTally: Sendable {
    let ok = Atomic<Int>(0)
    let shed = Atomic<Int>(0)
    let shedWithoutRetryAfter = Atomic<Int>(0)
    let other = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
}

/// Requests a test backend is serving now, the most at once, and a gate the test opens.
private final class BackendProbe: Sendable {
    let running = Atomic<Int>(0)
    let mostRunning = Atomic<Int>(0)
    let release = Atomic<Bool>(false)
}

@Suite(.timeLimit(.minutes(1))) struct SheddingEndToEndTests {
    /// A slow backend behind a pool limited to two requests at a time with a queue of two: a
    /// crowd of unknown clients is shed with 503 + `Retry-After`, while a trusted client (an
    /// allow-listed source address) keeps getting 200s — its requests evict unknown waiters and
    /// take the next free slot. The backend never sees more than the limit at once.
    @Test func unknownClientsAreShedWhileATrustedClientIsServed() async throws {
        let metrics = TestMetrics()
        try await withMetricsFactory(metrics) {
            let probe = BackendProbe()
            let backend = try await TestHTTPServer.start { _ in
                let now = probe.running.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue
                probe.mostRunning.max(now, ordering: .sequentiallyConsistent)
                try? await Task.sleep(for: .milliseconds(150))
                probe.running.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                return TestResponse(text: "ok")
            }
            var filterConfiguration = FilterConfiguration()
            filterConfiguration.classes.trustedNetworks = [CIDR("127.0.0.99")!]
            let filter = FloodFilter(configuration: filterConfiguration)
            let proxy = try await ProxyHarness.start(backendPorts: [backend.port], filter: filter) {
                $0.upstreams["app"]?.concurrency = ConcurrencyConfiguration(
                    adaptive: true, minLimit: 1, maxLimit: 2, initialLimit: 2, queue: 2, queueTimeout: .seconds(20))
                // Generous: on a loaded machine the backend's tasks may be starved for seconds, and the
                // trusted client must not time out waiting; a 504 would free a slot while the backend still works.
                $0.timeouts.responseHeader = .seconds(50)
                $0.timeouts.request = .seconds(60)
            }
            func shedding() -> PoolSheddingStatus? { proxy.server.statusSnapshot().pools.first?.shedding }

            let tally = FloodTally()
            let flood = Task {
                await withTaskGroup(of: Void.self) { group in
                    for client in 10..<22 {
                        group.addTask {
                            // Bounded in count and time; stops early when the trusted client is done.
                            let deadline = ContinuousClock.now + .seconds(20)
                            for _ in 0..<60 where !tally.stop.load(ordering: .relaxed) && ContinuousClock.now < deadline {
                                guard let response = try? await SourceClient.get(port: proxy.port, from: "127.0.0.\(client)") else {
                                    tally.other.wrappingAdd(1, ordering: .relaxed)
                                    continue
                                }
                                switch response.status {
                                case 200: tally.ok.wrappingAdd(1, ordering: .relaxed)
                                case 503:
                                    tally.shed.wrappingAdd(1, ordering: .relaxed)
                                    if response.value("Retry-After") != "1" { tally.shedWithoutRetryAfter.wrappingAdd(1, ordering: .relaxed) }
                                    // A short pause, not the full Retry-After: enough to keep the
                                    // queue full without taking the CPU from the rest of the suite.
                                    try? await Task.sleep(for: .milliseconds(25))
                                default: tally.other.wrappingAdd(1, ordering: .relaxed)
                                }
                            }
                        }
                    }
                }
            }

            // Wait (with a deadline) until the flood overflows the queue.
            let deadline = ContinuousClock.now + .seconds(20)
            while (shedding()?.shed(.unknown, .concurrency) ?? 0) == 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect((shedding()?.shed(.unknown, .concurrency) ?? 0) > 0)

            var trustedStatuses: [Int] = []
            for _ in 0..<6 {
                trustedStatuses.append(try await SourceClient.get(port: proxy.port, from: "127.0.0.99").status)
            }
            let floodStillShed = tally.shed.load(ordering: .relaxed)
            tally.stop.store(true, ordering: .relaxed)
            await flood.value

            #expect(trustedStatuses == [200, 200, 200, 200, 200, 200])
            #expect(floodStillShed > 0)
            #expect(tally.shedWithoutRetryAfter.load(ordering: .relaxed) == 0)
            #expect(tally.other.load(ordering: .relaxed) == 0)
            #expect(probe.mostRunning.load(ordering: .relaxed) <= 2)

            let status = try #require(shedding())
            #expect(status.limit >= 1 && status.limit <= 2)
            #expect(status.shed(.trusted, .concurrency) == 0 && status.shed(.trusted, .queueTimeout) == 0)
            #expect(status.inFlight == 0 && status.queueDepth == 0)
            let shedCounted = metrics.counterTotal(
                label: "levee_requests_shed_total", dimensions: [("class", "unknown"), ("reason", "concurrency")])
            #expect(shedCounted == status.shed(.unknown, .concurrency))
            #expect(status.shed(.unknown, .concurrency) + status.shed(.unknown, .queueTimeout) == tally.shed.load(ordering: .relaxed))
            #expect(try metrics.expectMeter("levee_upstream_concurrency_limit", [("pool", "app")]).lastValue == Double(status.limit))
            #expect(try metrics.expectMeter("levee_upstream_inflight", [("pool", "app")]).lastValue == 0)

            await proxy.stop()
            await backend.shutdown()
        }
    }

    /// An unknown client queued for the only slot while the tier is `normal`; the tier rises to
    /// `under-attack` before the slot frees: when it does, the waiter gets the tier's 503 and the
    /// backend never sees it, and the slot is free for the next request.
    @Test func aWaiterWhoseClassTheTierStoppedAdmittingIsShedWhenGranted() async throws {
        let probe = BackendProbe()
        let seen = Mutex<[String]>([])
        let backend = try await TestHTTPServer.start { request in
            seen.withLock { $0.append(request.head.uri) }
            if request.head.uri == "/hold" {
                let deadline = ContinuousClock.now + .seconds(20)
                while !probe.release.load(ordering: .relaxed) && ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
            return TestResponse(text: "ok")
        }
        let (filter, tiers) = FloodFilterTierTests.filter()
        let proxy = try await ProxyHarness.start(backendPorts: [backend.port], filter: filter) {
            $0.upstreams["app"]?.concurrency = ConcurrencyConfiguration(
                adaptive: false, minLimit: 1, maxLimit: 1, queue: 4, queueTimeout: .seconds(20), retryAfter: .seconds(3))
            $0.timeouts.responseHeader = .seconds(30)
            $0.timeouts.request = .seconds(60)
        }
        func shedding() -> PoolSheddingStatus? { proxy.server.statusSnapshot().pools.first?.shedding }
        func waitUntil(_ condition: () -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(20)
            while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        }
        let holder = Task { try await SourceClient.get(port: proxy.port, from: "127.0.0.2", path: "/hold") }
        try await waitUntil { (shedding()?.inFlight ?? 0) == 1 }
        let waiter = Task { try await SourceClient.get(port: proxy.port, from: "127.0.0.3", path: "/queued") }
        try await waitUntil { (shedding()?.queueDepth ?? 0) == 1 }
        #expect(shedding()?.queueDepth == 1)

        tiers.publish(.underAttack)
        probe.release.store(true, ordering: .relaxed)
        #expect(try await holder.value.status == 200)
        let shed = try await waiter.value
        #expect(shed.status == 503)
        #expect(shed.value("Retry-After") == "10")  // the tier's, not the pool's 3
        #expect(!seen.withLock { $0 }.contains("/queued"))
        #expect(tiers.shedCounts()[.unknown] == 1)
        try await waitUntil { (shedding()?.inFlight ?? 1) == 0 }
        #expect(shedding()?.inFlight == 0)
        // The slot went back: a client the tier admits goes straight through.
        tiers.publish(.normal)
        #expect(try await SourceClient.get(port: proxy.port, from: "127.0.0.4").status == 200)
        await proxy.stop()
        await backend.shutdown()
    }

    /// A waiter whose time in the queue runs out gets 503 with reason `queue-timeout`.
    @Test func aRequestWaitingLongerThanTheQueueTimeoutIsShed() async throws {
        let probe = BackendProbe()
        let backend = try await TestHTTPServer.start { request in
            // The first request holds the only slot until the test lets it go (bounded wait).
            if request.head.uri == "/hold" {
                let deadline = ContinuousClock.now + .seconds(20)
                while !probe.release.load(ordering: .relaxed) && ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
            return TestResponse(text: "ok")
        }
        let proxy = try await ProxyHarness.start(backendPorts: [backend.port]) {
            $0.upstreams["app"]?.concurrency = ConcurrencyConfiguration(
                adaptive: false, minLimit: 1, maxLimit: 1, queue: 4, queueTimeout: .milliseconds(200), retryAfter: .seconds(3))
            $0.timeouts.responseHeader = .seconds(30)
            $0.timeouts.request = .seconds(60)
        }
        func shedding() -> PoolSheddingStatus? { proxy.server.statusSnapshot().pools.first?.shedding }
        let holder = Task { try await SourceClient.get(port: proxy.port, from: "127.0.0.2", path: "/hold") }
        let deadline = ContinuousClock.now + .seconds(20)
        while (shedding()?.inFlight ?? 0) == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let waited = try await SourceClient.get(port: proxy.port, from: "127.0.0.3", path: "/wait")
        #expect(waited.status == 503)
        #expect(waited.value("Retry-After") == "3")
        #expect(shedding()?.shed(.unknown, .queueTimeout) == 1)
        probe.release.store(true, ordering: .relaxed)
        #expect(try await holder.value.status == 200)
        // The slot is free again: the next request goes straight through.
        #expect(try await SourceClient.get(port: proxy.port, from: "127.0.0.3").status == 200)
        await proxy.stop()
        await backend.shutdown()
    }
}
