import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL

// Usage: nio-relay LISTEN_PORT UPSTREAM_PORT   (127.0.0.1 only, one event loop)
//        nio-relay LISTEN_PORT respond         answers every read with one fixed 429 response
//        nio-relay LISTEN_PORT UPSTREAM_PORT tls CERT.pem KEY.pem   terminates TLS (swift-nio-ssl) first
//        nio-relay LISTEN_PORT h2 CERT.pem KEY.pem   answers every HTTP/2 stream itself (TLS, ALPN h2)

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

/// The floor of a rejecting filter on SwiftNIO (Benchmarks/peers/filter.sh, FLOOR=1): every read is
/// taken as one request (wrk sends one at a time per connection) and answered with the same bytes,
/// without parsing, matching or counting anything. A 429 about the size of HAProxy's.
final class Responder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    static let answer =
        "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 117\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
        + "<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n"
    let response = ByteBuffer(string: Responder.answer)
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(Self.wrapOutboundOut(response), promise: nil)
    }
    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
}

/// The floor of an HTTP/2 proxy on SwiftNIO: each stream (a child channel of NIOHTTP2's
/// multiplexer, as in Levee) is answered with the backend's 200 and body the moment its request
/// ends — no upstream, no HTTP/1 translation, no filter.
final class StreamResponder: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload
    static let headers: HPACKHeaders = [":status": "200", "content-type": "text/plain", "content-length": "23"]
    let body = ByteBuffer(string: "hello from the backend\n")
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .headers(let headers) where headers.endStream: respond(context)
        case .data(let data) where data.endStream: respond(context)
        default: break
        }
    }
    private func respond(_ context: ChannelHandlerContext) {
        context.write(Self.wrapOutboundOut(.headers(.init(headers: Self.headers))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.data(.init(data: .byteBuffer(body), endStream: true))), promise: nil)
    }
}

/// TLS as Levee's listener sets it up: TLS 1.2 and 1.3, certificate and key from PEM files.
func serverTLS(certificate: String, key: String, protocols: [String]) throws -> NIOSSLContext {
    var configuration = TLSConfiguration.makeServerConfiguration(
        certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
        privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
    configuration.minimumTLSVersion = .tlsv12
    configuration.applicationProtocols = protocols
    return try NIOSSLContext(configuration: configuration)
}

let arguments = CommandLine.arguments
guard arguments.count == 3 || (arguments.count == 6 && arguments[3] == "tls") || (arguments.count == 5 && arguments[2] == "h2"),
    let listenPort = Int(arguments[1]), ["respond", "h2"].contains(arguments[2]) || Int(arguments[2]) != nil
else {
    print("usage: nio-relay LISTEN_PORT UPSTREAM_PORT [tls CERT.pem KEY.pem] | nio-relay LISTEN_PORT respond")
    print("       nio-relay LISTEN_PORT h2 CERT.pem KEY.pem")
    exit(2)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
if arguments[2] == "h2" {
    let tls = try serverTLS(certificate: arguments[3], key: arguments[4], protocols: ["h2"])
    let server = try await ServerBootstrap(group: group)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { client in
            client.eventLoop.makeCompletedFuture {
                try client.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                _ = try client.pipeline.syncOperations.configureHTTP2Pipeline(
                    mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                ) { stream in
                    stream.eventLoop.makeCompletedFuture { try stream.pipeline.syncOperations.addHandler(StreamResponder()) }
                }
            }
        }
        .bind(host: "127.0.0.1", port: listenPort).get()
    print("nio-relay answering HTTP/2 on 127.0.0.1:\(listenPort)")
    try await server.closeFuture.get()
    exit(0)
}
if arguments[2] == "respond" {
    let server = try await ServerBootstrap(group: group)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { client in
            client.eventLoop.makeCompletedFuture { try client.pipeline.syncOperations.addHandler(Responder()) }
        }
        .bind(host: "127.0.0.1", port: listenPort).get()
    print("nio-relay answering 429 on 127.0.0.1:\(listenPort)")
    try await server.closeFuture.get()
    exit(0)
}
let upstreamPort = Int(arguments[2])!
let tls = arguments.count == 6 ? try serverTLS(certificate: arguments[4], key: arguments[5], protocols: ["http/1.1"]) : nil
let server = try await ServerBootstrap(group: group)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { client in
        // Both handlers live on the client's event loop; NIOLoopBound carries them into the
        // connect callbacks (which run there too) and checks that they do.
        let down = NIOLoopBound(Relay(), eventLoop: client.eventLoop)
        let up = NIOLoopBound(Relay(), eventLoop: client.eventLoop)
        do {
            if let tls { try client.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
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
