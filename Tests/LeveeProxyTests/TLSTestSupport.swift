import Foundation
import LeveeProxy
import LeveeTestSupport
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// A response as a test client saw it.
struct TestHTTPResult: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: String
}

/// A TLS client connection on loopback (certificate checks off: the test made the certificate).
final class TLSTestConnection: Sendable {
    let channel: any Channel
    /// ALPN result.
    let negotiatedProtocol: String?
    let peerCertificate: NIOSSLCertificate?
    /// The bytes of the ClientHello as they left the client (for computing its JA4 independently).
    let clientHello: [UInt8]
    private let multiplexer: NIOHTTP2Handler.StreamMultiplexer?
    private let collector: ByteCollector?

    /// What the client pipeline becomes the moment the handshake completes (before any server
    /// byte can be missed: an HTTP/2 server sends its SETTINGS at once).
    enum Mode {
        case http1, http2, raw
    }

    struct Handshake: Sendable {
        var negotiated: String?
        var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
    }

    private init(
        channel: any Channel, handshake: Handshake, peerCertificate: NIOSSLCertificate?, clientHello: [UInt8],
        collector: ByteCollector?
    ) {
        self.channel = channel
        self.negotiatedProtocol = handshake.negotiated
        self.multiplexer = handshake.multiplexer
        self.peerCertificate = peerCertificate
        self.clientHello = clientHello
        self.collector = collector
    }

    static func connect(
        port: Int, serverName: String? = nil, alpn: [String] = [], maximumVersion: TLSVersion? = nil, mode: Mode = .http1
    ) async throws -> TLSTestConnection {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        configuration.applicationProtocols = alpn
        if let maximumVersion { configuration.maximumTLSVersion = maximumVersion }
        let sslContext = try NIOSSLContext(configuration: configuration)
        let eventLoop = ProxyHarness.group.next()
        let handshake = eventLoop.makePromise(of: Handshake.self)
        let hello = eventLoop.makePromise(of: [UInt8].self)
        let collector = mode == .raw ? ByteCollector(eventLoop: eventLoop) : nil
        let channel = try await ClientBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(FirstWriteRecorder(promise: hello))
                    try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    try sync.addHandler(HandshakeWaiter(promise: handshake, mode: mode, collector: collector))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        do {
            let result = try await withDeadline(handshake.futureResult)
            let certificate = try await channel.nioSSL_peerCertificate().get()
            return TLSTestConnection(
                channel: channel, handshake: result, peerCertificate: certificate,
                clientHello: try await hello.futureResult.get(), collector: collector)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    func close() async { try? await channel.close() }

    /// One HTTP/1.1 request on this connection (`Connection: close`).
    func http1(_ method: HTTPMethod = .GET, _ uri: String, host: String = "localhost", body: String? = nil) async throws -> TestHTTPResult {
        let result = channel.eventLoop.makePromise(of: TestHTTPResult.self)
        try await channel.eventLoop.submit { [channel] in
            try channel.pipeline.syncOperations.addHTTPClientHandlers()
            try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: result))
        }.get()
        var headers = HTTPHeaders([("host", host), ("connection", "close")])
        if let body { headers.add(name: "content-length", value: String(body.utf8.count)) }
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return try await withDeadline(result.futureResult)
    }

    /// The HTTP/2 client of a connection made with `mode: .http2` (ALPN must have chosen `h2`).
    func http2() async throws -> HTTP2TestClient {
        guard let multiplexer else { throw TLSTestError("not an HTTP/2 connection") }
        return HTTP2TestClient(channel: channel, multiplexer: multiplexer)
    }

    /// Every byte the server sent, for a connection made with `mode: .raw`.
    func collectBytes() async throws -> ByteCollector {
        guard let collector else { throw TLSTestError("not a raw connection") }
        return collector
    }
}

/// HTTP/2 requests, each on its own stream of one connection.
struct HTTP2TestClient: Sendable {
    let channel: any Channel
    let multiplexer: NIOHTTP2Handler.StreamMultiplexer

    func request(_ method: HTTPMethod = .GET, _ uri: String, host: String = "localhost", body: String? = nil) async throws -> TestHTTPResult {
        let result = channel.eventLoop.makePromise(of: TestHTTPResult.self)
        let stream = try await multiplexer.createStreamChannel { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .https))
                try stream.pipeline.syncOperations.addHandler(ResponseCollector(promise: result))
            }
        }.get()
        var headers = HTTPHeaders([("host", host)])
        if let body { headers.add(name: "content-length", value: String(body.utf8.count)) }
        stream.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)), promise: nil)
        if let body { stream.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil) }
        stream.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return try await withDeadline(result.futureResult)
    }
}

/// Waits for `future`, failing after `timeout` instead of hanging a test.
func withDeadline<T: Sendable>(_ future: EventLoopFuture<T>, timeout: TimeAmount = .seconds(10)) async throws -> T {
    let eventLoop = future.eventLoop
    let promise = eventLoop.makePromise(of: T.self)
    let timer = eventLoop.scheduleTask(in: timeout) { promise.fail(TLSTestError("timed out")) }
    future.whenComplete { result in
        timer.cancel()
        promise.completeWith(result)
    }
    return try await promise.futureResult.get()
}

/// Records the first bytes written to the socket (the ClientHello).
private final class FirstWriteRecorder: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var promise: EventLoopPromise<[UInt8]>?

    init(promise: EventLoopPromise<[UInt8]>) { self.promise = promise }

    func write(context: ChannelHandlerContext, data: NIOAny, promise writePromise: EventLoopPromise<Void>?) {
        if let promise {
            self.promise = nil
            promise.succeed(Array(Self.unwrapOutboundIn(data).readableBytesView))
        }
        context.write(data, promise: writePromise)
    }

    func handlerRemoved(context: ChannelHandlerContext) { promise?.fail(TLSTestError("nothing written")) }
}

/// Completes with the ALPN result when the handshake finishes, or fails with the handshake error.
private final class HandshakeWaiter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var promise: EventLoopPromise<TLSTestConnection.Handshake>?
    private let mode: TLSTestConnection.Mode
    private let collector: ByteCollector?

    init(promise: EventLoopPromise<TLSTestConnection.Handshake>, mode: TLSTestConnection.Mode, collector: ByteCollector?) {
        self.promise = promise
        self.mode = mode
        self.collector = collector
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event, let promise {
            self.promise = nil
            do {
                var result = TLSTestConnection.Handshake(negotiated: negotiated, multiplexer: nil)
                switch mode {
                case .http1: break
                case .http2:
                    result.multiplexer = try context.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { channel in channel.eventLoop.makeSucceededVoidFuture() }
                case .raw:
                    if let collector { try context.pipeline.syncOperations.addHandler(collector.handler()) }
                }
                promise.succeed(result)
            } catch {
                promise.fail(error)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(error)
        promise = nil
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(TLSTestError("closed before the handshake completed"))
        promise = nil
        context.fireChannelInactive()
    }
}

/// Collects one HTTP response.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let promise: EventLoopPromise<TestHTTPResult>
    private var result = TestHTTPResult(status: 0, headers: [:], body: "")
    private var done = false

    init(promise: EventLoopPromise<TestHTTPResult>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            result.status = Int(head.status.code)
            result.headers = head.headers
        case .body(let buffer):
            result.body += String(buffer: buffer)
        case .end:
            done = true
            promise.succeed(result)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            promise.fail(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(TLSTestError("closed before the response ended"))
        }
        context.fireChannelInactive()
    }
}

/// Every byte the server sent after the handshake, and when the connection closed.
final class ByteCollector: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    let closed: EventLoopPromise<Void>

    init(eventLoop: any EventLoop) { closed = eventLoop.makePromise() }

    var received: [UInt8] { bytes.withLock { $0 } }

    fileprivate func handler() -> Handler { Handler(collector: self) }

    fileprivate final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let collector: ByteCollector
        init(collector: ByteCollector) { self.collector = collector }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let chunk = Array(Self.unwrapInboundIn(data).readableBytesView)
            collector.bytes.withLock { $0 += chunk }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

        func channelInactive(context: ChannelHandlerContext) { collector.closed.succeed(()) }
    }
}

/// HTTP/2 frames written and read byte by byte, for attacks no well-behaved client library sends.
enum RawHTTP2 {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func frame(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags,
                UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
            + payload
    }

    static let emptySettings = frame(type: 0x4, flags: 0, stream: 0, payload: [])

    /// HEADERS for `GET https://localhost/` (HPACK static table), END_HEADERS, no END_STREAM.
    static func getHeaders(stream: UInt32) -> [UInt8] {
        let authority = Array("localhost".utf8)
        let block: [UInt8] = [0x82, 0x87, 0x84, 0x01, UInt8(authority.count)] + authority
        return frame(type: 0x1, flags: 0x4, stream: stream, payload: block)
    }

    /// RST_STREAM with CANCEL.
    static func reset(stream: UInt32) -> [UInt8] { frame(type: 0x3, flags: 0, stream: stream, payload: [0, 0, 0, 0x8]) }

    struct Frame {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]
    }

    /// Splits received bytes into frames (an incomplete last frame is dropped).
    static func frames(_ bytes: [UInt8]) -> [Frame] {
        var out: [Frame] = []
        var i = 0
        while i + 9 <= bytes.count {
            let length = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            guard i + 9 + length <= bytes.count else { break }
            let stream = UInt32(bytes[i + 5] & 0x7f) << 24 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 8 | UInt32(bytes[i + 8])
            out.append(Frame(type: bytes[i + 3], flags: bytes[i + 4], stream: stream, payload: Array(bytes[(i + 9)..<(i + 9 + length)])))
            i += 9 + length
        }
        return out
    }

    static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}

/// Forwards everything and records what the pipeline told the filter (JA4, TLS) and abuse reports.
final class RecordingFilter: RequestFilter {
    private let state = Mutex<(requests: [RequestContext], abuse: [String])>(([], []))

    init() {}

    var requests: [RequestContext] { state.withLock { $0.requests } }
    var abuseReports: [String] { state.withLock { $0.abuse } }

    func evaluate(_ request: RequestContext) -> FilterVerdict {
        state.withLock { $0.requests.append(request) }
        return .forward(responseHeaders: [:])
    }

    func connectionAbused(socketAddress: SocketAddress?, reason: String) {
        state.withLock { $0.abuse.append(reason) }
    }
}

/// Runs `curl` against the proxy and returns its `-w` output and body.
func runCurl(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-s", "-k", "--max-time", "10"] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

extension ListenerTLSConfiguration {
    /// A TLS listener configuration for tests with the default certificate `pair`.
    static func test(_ pair: TestCertificates.Pair, sni: [ListenerTLSConfiguration.Certificate] = []) -> ListenerTLSConfiguration {
        ListenerTLSConfiguration(
            defaultCertificate: .init(certificatePath: pair.certificatePath, keyPath: pair.keyPath), sniCertificates: sni)
    }
}
