import LeveeRESP
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// Where a future's result lands (EmbeddedEventLoop completes futures synchronously).
final class ResultBox: Sendable {
    private let stored = Mutex<Result<RESPValue, any Error>?>(nil)

    init(_ future: EventLoopFuture<RESPValue>) {
        future.whenComplete { result in self.stored.withLock { $0 = result } }
    }

    var result: Result<RESPValue, any Error>? { stored.withLock { $0 } }
}

@Suite("RESP pipeline handlers on an embedded channel")
struct RESPCommandHandlerTests {
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        try channel.pipeline.syncOperations.addHandlers([
            ByteToMessageHandler(RESPDecoder()), MessageToByteHandler(RESPEncoder()), RESPCommandHandler(),
        ])
        return channel
    }

    static func send(_ channel: EmbeddedChannel, _ arguments: [String], timeout: TimeAmount? = nil) throws -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        try channel.writeOutbound(RESPRequest(command: .command(arguments), promise: promise, timeout: timeout))
        return promise.futureResult
    }

    @Test("pipelined commands are written as bulk-string arrays; split replies complete them in order")
    func pipelinedInOrder() throws {
        let channel = try Self.channel()
        let futures = try (0..<3).map { try Self.send(channel, ["ECHO", "m\($0)"]) }
        var written = ""
        while let bytes = try channel.readOutbound(as: ByteBuffer.self) { written += String(buffer: bytes) }
        #expect(written == "*2\r\n$4\r\nECHO\r\n$2\r\nm0\r\n*2\r\n$4\r\nECHO\r\n$2\r\nm1\r\n*2\r\n$4\r\nECHO\r\n$2\r\nm2\r\n")
        let results = futures.map(ResultBox.init)
        // Replies arrive cut at awkward places: mid-header, mid-body, two in one read.
        for piece in ["$2\r", "\nm0\r\n-ERR bo", "om\r\n$2\r\nm2", "\r\n"] {
            try channel.writeInbound(ByteBuffer(string: piece))
        }
        #expect(try results[0].result?.get() == .bulk("m0"))
        #expect(throws: RESPError.server(code: "ERR", message: "ERR boom")) { try results[1].result?.get() }
        #expect(try results[2].result?.get() == .bulk("m2"))
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test("a timeout fails the command with .timeout, the ones behind it with .connectionClosed, and closes")
    func timeout() throws {
        let channel = try Self.channel()
        let slow = try Self.send(channel, ["PING"], timeout: .milliseconds(50))
        let behind = try Self.send(channel, ["PING"], timeout: .seconds(10))
        let slowResult = ResultBox(slow)
        let behindResult = ResultBox(behind)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(49))
        #expect(slowResult.result == nil)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(throws: RESPError.timeout) { try slowResult.result?.get() }
        #expect(throws: RESPError.connectionClosed) { try behindResult.result?.get() }
        #expect(!channel.isActive)
    }

    @Test("garbage from the server fails what is in flight and closes the connection")
    func protocolViolation() throws {
        let channel = try Self.channel()
        let pending = try Self.send(channel, ["GET", "k"])
        let result = ResultBox(pending)
        _ = try? channel.writeInbound(ByteBuffer(string: "?what\r\n"))
        #expect(throws: RESPError.self) { try result.result?.get() }
        #expect(!channel.isActive)
    }

    @Test("a reply nobody asked for is a protocol violation; a closed connection fails what is pending")
    func unexpectedReplyAndClose() throws {
        let stray = try Self.channel()
        _ = try? stray.writeInbound(ByteBuffer(string: "+OK\r\n"))
        #expect(!stray.isActive)

        let channel = try Self.channel()
        let pending = try Self.send(channel, ["GET", "k"])
        let result = ResultBox(pending)
        try channel.close().wait()
        #expect(throws: RESPError.connectionClosed) { try result.result?.get() }
    }
}
