import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The admin listener: a small HTTP/1.1 server (loopback by default) answering through an
/// `AdminRouter`. It is a `Service`: `start()` binds (so the bound address is known before the
/// service group runs), `run()` serves until graceful shutdown, then closes its connections.
public final class AdminServer: Service {
    /// Largest request body accepted (admin calls carry small JSON documents at most).
    public static let maxBodyBytes = 1 << 20

    /// The endpoints; add more at any time.
    public let router: AdminRouter
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let logger: Logger
    private let token: Mutex<String?>
    private let serverChannel = Mutex<NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>?>(nil)

    /// - Parameters:
    ///   - token: the bearer token for endpoints that change state (nil: those endpoints answer 403).
    public init(host: String, port: Int, token: String?, router: AdminRouter = AdminRouter(), group: any EventLoopGroup, logger: Logger) {
        self.host = host
        self.port = port
        self.token = Mutex(token)
        self.router = router
        self.group = group
        self.logger = logger
    }

    /// Replaces the token (on reload); requests already being answered keep the old one.
    public func setToken(_ token: String?) { self.token.withLock { $0 = token } }

    /// The bound address once `start()` returned.
    public var localAddress: SocketAddress? { serverChannel.withLock { $0?.channel.localAddress } }

    /// Binds the listening socket; `run()` calls it if it was not called before.
    public func start() async throws {
        if serverChannel.withLock({ $0 != nil }) { return }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 128)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        serverChannel.withLock { $0 = channel }
        logger.info("admin listening", metadata: ["address": "\(channel.channel.localAddress.map(LeveeApplication.describe) ?? "?")"])
    }

    public func run() async throws {
        try await start()
        guard let listener = serverChannel.withLock({ $0 }) else { return }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { connections in
                try await listener.executeThenClose { inbound in
                    for try await connection in inbound {
                        connections.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            listener.channel.close(promise: nil)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        await withGracefulShutdownHandler {
            do {
                try await connection.executeThenClose { inbound, outbound in
                    var head: HTTPRequestHead?
                    var body = ByteBuffer()
                    var tooLarge = false
                    for try await part in inbound {
                        switch part {
                        case .head(let requestHead):
                            head = requestHead
                            body.clear()
                            tooLarge = false
                        case .body(var chunk):
                            if body.readableBytes + chunk.readableBytes > Self.maxBodyBytes {
                                tooLarge = true
                            } else {
                                body.writeBuffer(&chunk)
                            }
                        case .end:
                            guard let requestHead = head else { continue }
                            head = nil
                            let response: AdminResponse
                            if tooLarge {
                                response = .error(.payloadTooLarge, "request body larger than \(Self.maxBodyBytes) bytes")
                            } else {
                                let request = AdminRequest(method: requestHead.method, uri: requestHead.uri, headers: requestHead.headers, body: body)
                                response = await router.respond(to: request, token: token.withLock { $0 })
                            }
                            let keepAlive = requestHead.isKeepAlive && !tooLarge
                            try await write(response, for: requestHead, keepAlive: keepAlive, to: outbound)
                            if !keepAlive { return }
                        }
                    }
                }
            } catch {
                logger.debug("admin connection ended", metadata: ["error": "\(error)"])
            }
        } onGracefulShutdown: {
            connection.channel.close(promise: nil)
        }
    }

    private func write(
        _ response: AdminResponse, for request: HTTPRequestHead, keepAlive: Bool,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = response.headers
        headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes))
        headers.replaceOrAdd(name: "cache-control", value: "no-store")
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        try await outbound.write(.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers)))
        if request.method != .HEAD, response.body.readableBytes > 0 {
            try await outbound.write(.body(.byteBuffer(response.body)))
        }
        try await outbound.write(.end(nil))
    }
}
