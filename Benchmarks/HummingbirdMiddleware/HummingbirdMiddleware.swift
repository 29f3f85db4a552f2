// The cost of RateLimitMiddleware on a Hummingbird hello-world route, side by side in one run:
// the same application with and without the middleware,
// - "Live": a real server on 127.0.0.1 and one keep-alive NIO client connection, request by request;
// - "Router": the router's responder called directly (no sockets), 50 requests per iteration,
//   which isolates the per-request cost of the middleware itself.
// The quota is large enough that every request is admitted: the common path being measured.

import Benchmark
import Hummingbird
import LeveeHummingbird
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 200,
        maxDuration: .seconds(4),
        maxIterations: 200_000
    )

    for limited in [false, true] {
        let name = limited ? "with RateLimitMiddleware" : "plain"
        Benchmark("Live hello-world: \(name)") { benchmark in
            try await runLive(benchmark, limited: limited)
        }
        Benchmark("Router hello-world (50 requests): \(name)") { benchmark in
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
        for _ in 0..<50 {
            let response = try await responder.respond(to: request, context: context)
            try await response.body.write(DiscardingBodyWriter())
        }
    }
    benchmark.stopMeasurement()
}

func runLive(_ benchmark: Benchmark, limited: Bool) async throws {
    let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let app = Application(
        router: makeRouter(limited: limited),
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
        logger: Logger(label: "bench")
    )
    let server = Task { try await app.runService(gracefulShutdownSignals: []) }
    defer { server.cancel() }
    var ports = portStream.makeAsyncIterator()
    guard let port = await ports.next(), port > 0 else { throw ChannelError.connectPending }

    let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
            }
        }
    let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: ["Host": "localhost"])
    try await client.executeThenClose { inbound, outbound in
        var responses = inbound.makeAsyncIterator()
        func exchange() async throws {
            try await outbound.write(contentsOf: [.head(head), .end(nil)])
            while let part = try await responses.next() {
                if case .end = part { return }
            }
            throw ChannelError.eof
        }
        for _ in 0..<200 { try await exchange() }  // connection and caches warm
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { try await exchange() }
        benchmark.stopMeasurement()
    }
}
