import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The built-in demo backend: a small in-process HTTP/1.1 server that `config/levee.toml` puts
/// behind the proxy so that `make run` works with nothing else installed. Endpoints:
///
/// - `GET /` a small HTML page; `GET /api/hello` a JSON greeting
/// - `GET /bytes/N` N bytes (streamed, up to 1 GiB); `POST /echo` the request body back
/// - `GET /slow?ms=N` answers after N ms (up to 60 s); `GET /status/N` answers with status N
///
/// With a `capacity` it behaves like a saturated service (``DemoCapacity``): at most that many
/// answers per second, excess requests queue (latency grows) and past `maxQueue` get 503.
/// `POST /echo` streams and is not counted against the capacity.
///
/// It is a `Service`: `start()` binds, `run()` serves until graceful shutdown.
public final class DemoBackend: Service {
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let logger: Logger
    private let capacity: DemoCapacity?
    private let channel = Mutex<(any Channel)?>(nil)

    public init(configuration: DemoBackendConfiguration, group: any EventLoopGroup, logger: Logger) {
        self.host = configuration.host
        self.port = configuration.port
        self.group = group
        self.logger = logger
        self.capacity = configuration.capacity.map {
            DemoCapacity(requestsPerSecond: $0, serviceTime: configuration.serviceTime, maxQueue: configuration.maxQueue)
        }
    }

    /// The bound address once `start()` returned.
    public var localAddress: SocketAddress? { channel.withLock { $0?.localAddress } }

    /// Binds the listening socket; `run()` calls it if needed.
    public func start() async throws {
        if channel.withLock({ $0 != nil }) { return }
        let capacity = self.capacity
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(DemoBackendHandler(capacity: capacity))
                }
            }
            .bind(host: host, port: port).get()
        channel.withLock { $0 = bound }
        logger.info("demo backend listening", metadata: ["address": "\(bound.localAddress.map(LeveeApplication.describe) ?? "?")"])
    }

    public func run() async throws {
        try await start()
        guard let listener = channel.withLock({ $0 }) else { return }
        await withGracefulShutdownHandler {
            try? await listener.closeFuture.get()
        } onGracefulShutdown: {
            listener.close(promise: nil)
        }
    }
}
