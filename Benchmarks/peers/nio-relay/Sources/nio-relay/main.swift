import NIOCore
import NIOPosix

// Usage: nio-relay LISTEN_PORT UPSTREAM_PORT   (127.0.0.1 only, one event loop)

/// Copies what one side reads to the other side; flushes once per read batch.
final class Relay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var peer: (any Channel)?
    /// What the client sent before its upstream connection was up.
    var early: [ByteBuffer] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        if let peer { peer.write(buffer, promise: nil) } else { early.append(buffer) }
    }

    func channelReadComplete(context: ChannelHandlerContext) { peer?.flush() }
    func channelInactive(context: ChannelHandlerContext) { peer?.close(promise: nil) }
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let listenPort = Int(arguments[1]), let upstreamPort = Int(arguments[2]) else {
    print("usage: nio-relay LISTEN_PORT UPSTREAM_PORT")
    exit(2)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = try await ServerBootstrap(group: group)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { client in
        // Both handlers live on the client's event loop; NIOLoopBound carries them into the
        // connect callbacks (which run there too) and checks that they do.
        let down = NIOLoopBound(Relay(), eventLoop: client.eventLoop)
        let up = NIOLoopBound(Relay(), eventLoop: client.eventLoop)
        do {
            try client.pipeline.syncOperations.addHandler(down.value)
        } catch {
            return client.eventLoop.makeFailedFuture(error)
        }
        return ClientBootstrap(group: client.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { upstream in
                upstream.eventLoop.makeCompletedFuture { try upstream.pipeline.syncOperations.addHandler(up.value) }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .map { upstream in
                up.value.peer = client
                down.value.peer = upstream
                for buffer in down.value.early { upstream.write(buffer, promise: nil) }
                down.value.early = []
                upstream.flush()
            }
    }
    .bind(host: "127.0.0.1", port: listenPort).get()
print("nio-relay listening on 127.0.0.1:\(listenPort) -> 127.0.0.1:\(upstreamPort)")
try await server.closeFuture.get()
