// The cost of RateLimitMiddleware on a Hummingbird hello-world route, side by side in one run:
// the same application with and without the middleware,
// - "Live": a real server on 127.0.0.1 and 4 keep-alive NIO client connections, each sending
//   250 requests one after another per sample (1,000 requests per sample);
// - "Router": the router's responder called directly (no sockets), 1,000 requests per sample,
//   which isolates the per-request cost of the middleware itself.
// Servers, connections and responders are made once per benchmark (its setup), not per sample,
// so that a sample measures requests only. The quota is large enough that every request is
// admitted: the common path being measured.

import Benchmark
import Hummingbird
import LeveeHummingbird
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import Synchronization

/// Requests per sample: long enough (milliseconds) that scheduling noise averages out.
let requestsPerSample = 1_000
let liveConnections = 4

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 20,
        maxDuration: .seconds(10),
        maxIterations: 2_000
    )

    for limited in [false, true] {
        let name = limited ? "with RateLimitMiddleware" : "plain"
        let live = LiveRig()
        Benchmark("Live hello-world x\(requestsPerSample): \(name)",
                  closure: { benchmark in try await live.round(benchmark) },
                  setup: { try await live.start(limited: limited) },
                  teardown: { await live.stop() })
        Benchmark("Router hello-world x\(requestsPerSample): \(name)") { benchmark in
            try await runRouter(benchmark, limited: limited)
        }
    }
}

/// A quota no benchmark reaches: every request is admitted.
let unreachable = Quota(rate: 1_000_000_000, period: .seconds(1), burst: 1_000_000_000)

/// The hello-world router, with the middleware first when `limited`.
func makeRouter(limited: Bool) -> Router<ClientAddressRequestContext> {
    let router = Router(context: ClientAddressRequestContext.self)
    if limited { router.add(middleware: RateLimitMiddleware(unreachable)) }
    router.get("/") { _, _ in "Hello, world!" }
    return router
}

/// Discards a response body.
struct DiscardingBodyWriter: ResponseBodyWriter {
    func write(_ buffer: ByteBuffer) async throws {}
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

func runRouter(_ benchmark: Benchmark, limited: Bool) async throws {
    let responder = makeRouter(limited: limited).buildResponder()
    let channel = EmbeddedChannel()
    channel.remoteAddress = try SocketAddress(ipAddress: "192.0.2.7", port: 40_000)
    let context = ClientAddressRequestContext(source: .init(channel: channel, logger: Logger(label: "bench")))
    let (body, source) = RequestBody.makeStream()
    source.finish()
    let request = Request(head: .init(method: .get, scheme: "http", authority: "localhost", path: "/"), body: body)
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
        for _ in 0..<requestsPerSample {
            let response = try await responder.respond(to: request, context: context)
            try await response.body.write(DiscardingBodyWriter())
        }
    }
    benchmark.stopMeasurement()
}

/// A running hello-world server and its client connections, kept for all samples of one
/// benchmark. Each connection is owned by a task that sends the requests of a ticket and
/// resumes the ticket's continuation when their responses are in.
final class LiveRig: Sendable {
    typealias Ticket = (count: Int, done: CheckedContinuation<Void, any Error>)
    private struct State {
        var server: Task<Void, any Error>?
        var connections: Task<Void, any Error>?
        var gates: [AsyncStream<Ticket>.Continuation] = []
    }
    private let state = Mutex(State())

    func start(limited: Bool) async throws {
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: makeRouter(limited: limited),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "bench")
        )
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        var ports = portStream.makeAsyncIterator()
        guard let port = await ports.next(), port > 0 else { throw ChannelError.connectPending }

        var gates: [AsyncStream<Ticket>.Continuation] = []
        var streams: [AsyncStream<Ticket>] = []
        for _ in 0..<liveConnections {
            let (tickets, gate) = AsyncStream.makeStream(of: Ticket.self)
            gates.append(gate)
            streams.append(tickets)
        }
        var clients: [NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>] = []
        for _ in 0..<liveConnections {
            clients.append(try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                })
        }
        let connections = Task { [clients, streams] in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (client, tickets) in zip(clients, streams) {
                    group.addTask { try await Self.serve(client, tickets) }
                }
                try await group.waitForAll()
            }
        }
        state.withLock {
            $0.server = server
            $0.connections = connections
            $0.gates = gates
        }
        // Connections and caches warm before the first sample.
        try await send(50)
    }

    /// Sends each ticket's requests on `client`, one after another, and answers the ticket.
    private static func serve(
        _ client: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>, _ tickets: AsyncStream<Ticket>
    ) async throws {
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: ["Host": "localhost"])
        try await client.executeThenClose { inbound, outbound in
            var responses = inbound.makeAsyncIterator()
            for await ticket in tickets {
                do {
                    for _ in 0..<ticket.count {
                        try await outbound.write(contentsOf: [.head(head), .end(nil)])
                        var ended = false
                        while let part = try await responses.next() {
                            if case .end = part { ended = true; break }
                        }
                        if !ended { throw ChannelError.eof }
                    }
                    ticket.done.resume()
                } catch {
                    ticket.done.resume(throwing: error)
                    throw error
                }
            }
        }
    }

    /// `perConnection` requests on every connection at once; returns when all are answered.
    private func send(_ perConnection: Int) async throws {
        let gates = state.withLock { $0.gates }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for gate in gates {
                group.addTask {
                    try await withCheckedThrowingContinuation { done in
                        if case .terminated = gate.yield((perConnection, done)) { done.resume(throwing: ChannelError.ioOnClosedChannel) }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// One sample: `requestsPerSample` requests spread over the connections.
    func round(_ benchmark: Benchmark) async throws {
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { try await send(requestsPerSample / liveConnections) }
        benchmark.stopMeasurement()
    }

    func stop() async {
        let (server, connections, gates) = state.withLock { ($0.server, $0.connections, $0.gates) }
        for gate in gates { gate.finish() }
        _ = try? await connections?.value
        server?.cancel()
        _ = try? await server?.value
    }
}
