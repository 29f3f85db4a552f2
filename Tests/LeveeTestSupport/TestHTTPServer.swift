import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A request as the test backend saw it.
public struct TestRequest: Sendable {
    public var head: HTTPRequestHead
    public var body: ByteBuffer
    /// The peer address of the connection (what a proxy or load generator connected from).
    public var remoteAddress: SocketAddress?
}

/// What the test backend answers.
public struct TestResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:], text: String) {
        self.init(status: status, headers: headers, body: ByteBuffer(string: text))
    }
}

/// An HTTP/1.1 server on loopback for tests: each request (fully buffered) is answered by a closure.
/// It records how many requests arrived and from which distinct remote hosts, so that tests can
/// check what really reached the backend.
public final class TestHTTPServer: Sendable {
    public typealias Handler = @Sendable (TestRequest) async -> TestResponse

    /// The port it listens on (127.0.0.1 unless another host was given).
    public let port: Int
    public let host: String
    private let serverChannel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let serveTask: Task<Void, Never>
    private let stats: NIOLockedValueBox<Stats>

    private struct Stats {
        var requests = 0
        var connections = 0
        var remoteHosts: Set<String> = []
    }

    /// Requests answered so far.
    public var requestCount: Int { stats.withLockedValue { $0.requests } }
    /// Connections accepted so far.
    public var connectionCount: Int { stats.withLockedValue { $0.connections } }
    /// Distinct remote IP addresses (without port) seen so far.
    public var distinctRemoteHosts: Set<String> { stats.withLockedValue { $0.remoteHosts } }

    /// Handlers put in front of the HTTP codec of each accepted connection (e.g. a TLS server
    /// handler, so that the backend speaks HTTPS).
    public typealias Prepare = @Sendable (any Channel) throws -> Void

    /// Starts a server on `host`:`port` (port 0 picks a free one) answering with `handler`.
    public static func start(
        host: String = "127.0.0.1",
        port: Int = 0,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        handler: @escaping Handler = { _ in TestResponse(text: "ok") },
        prepare: Prepare? = nil
    ) async throws -> TestHTTPServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try prepare?(channel)
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return TestHTTPServer(channel: channel, host: host, handler: handler)
    }

    private init(
        channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>,
        host: String,
        handler: @escaping Handler
    ) {
        self.serverChannel = channel
        self.host = host
        self.port = channel.channel.localAddress?.port ?? 0
        let stats = NIOLockedValueBox(Stats())
        self.stats = stats
        self.serveTask = Task {
            await withDiscardingTaskGroup { group in
                do {
                    try await channel.executeThenClose { inbound in
                        for try await connection in inbound {
                            group.addTask {
                                await Self.serve(connection, stats: stats, handler: handler)
                            }
                        }
                    }
                } catch {
                    // The listener was closed by shutdown(); connections finish on their own.
                }
            }
        }
    }

    /// "http://127.0.0.1:PORT"
    public var baseURL: String { "http://\(host):\(port)" }

    /// Closes the listener and open connections.
    public func shutdown() async {
        try? await serverChannel.channel.close()
        serveTask.cancel()
        await serveTask.value
    }

    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
        stats: NIOLockedValueBox<Stats>,
        handler: Handler
    ) async {
        let remote = connection.channel.remoteAddress
        stats.withLockedValue {
            $0.connections += 1
            if let ip = remote?.ipAddress { $0.remoteHosts.insert(ip) }
        }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        body.clear()
                    case .body(var chunk):
                        body.writeBuffer(&chunk)
                    case .end:
                        guard let requestHead = head else { continue }
                        stats.withLockedValue { $0.requests += 1 }
                        let response = await handler(TestRequest(head: requestHead, body: body, remoteAddress: remote))
                        var headers = response.headers
                        let noBody = requestHead.method == .HEAD || response.status == .noContent
                            || response.status == .notModified
                        if !headers.contains(name: "content-length") && !headers.contains(name: "transfer-encoding")
                            && response.status != .noContent && response.status != .notModified {
                            headers.add(name: "content-length", value: String(response.body.readableBytes))
                        }
                        if !requestHead.isKeepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
                        try await outbound.write(.head(HTTPResponseHead(
                            version: requestHead.version, status: response.status, headers: headers)))
                        if !noBody && response.body.readableBytes > 0 {
                            try await outbound.write(.body(.byteBuffer(response.body)))
                        }
                        try await outbound.write(.end(nil))
                        if !requestHead.isKeepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            // A client that goes away mid-request is normal in tests of floods and timeouts.
        }
    }
}
