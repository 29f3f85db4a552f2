import NIOCore
import NIOEmbedded
import Testing

@testable import LeveeProxy

/// Collects what passes the decoder: user events and bytes.
private final class Recorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var headers: [ProxyProtocolHeader] = []
    var bytes = ByteBuffer()
    var events: [String] = []
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let h = event as? ProxyProtocolHeader {
            headers.append(h)
            events.append("header")
        }
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var b = unwrapInboundIn(data)
        events.append("data")
        bytes.writeBuffer(&b)
    }
}

@Suite struct FilterProxyProtocolTests {
    private func channel() throws -> (EmbeddedChannel, Recorder) {
        let recorder = Recorder()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ProxyProtocolDecoder()))
        try channel.pipeline.syncOperations.addHandler(recorder)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, recorder)
    }

    private func v2Header(command: UInt8 = 0x21, family: UInt8, addresses: [UInt8], tlv: [UInt8] = []) -> ByteBuffer {
        var b = ByteBuffer(bytes: ProxyProtocolParser.v2Signature)
        b.writeInteger(command)
        b.writeInteger(family)
        b.writeInteger(UInt16(addresses.count + tlv.count))
        b.writeBytes(addresses)
        b.writeBytes(tlv)
        return b
    }

    @Test func v1TCP4InPiecesThenPassesTheRest() throws {
        let (channel, recorder) = try channel()
        try channel.writeInbound(ByteBuffer(string: "PROXY TCP4 203.0.113.9 10.0.0.1 5678"))
        #expect(recorder.headers.isEmpty)
        try channel.writeInbound(ByteBuffer(string: " 80\r\nGET / HTTP/1.1\r\n"))
        try channel.writeInbound(ByteBuffer(string: "Host: x\r\n\r\n"))
        channel.embeddedEventLoop.run()
        #expect(recorder.headers.count == 1)
        #expect(recorder.headers.first?.source == (try SocketAddress(ipAddress: "203.0.113.9", port: 5678)))
        #expect(recorder.headers.first?.destination == (try SocketAddress(ipAddress: "10.0.0.1", port: 80)))
        #expect(recorder.events.first == "header")
        #expect(String(buffer: recorder.bytes) == "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        // The decoder has left the pipeline.
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<ProxyProtocolDecoder>.self) }
        _ = try channel.finish()
    }

    @Test func v1TCP6AndUnknown() throws {
        let (channel, recorder) = try channel()
        try channel.writeInbound(ByteBuffer(string: "PROXY TCP6 2001:db8::1 2001:db8::2 1000 443\r\n"))
        #expect(recorder.headers.first?.source == (try SocketAddress(ipAddress: "2001:db8::1", port: 1000)))
        _ = try channel.finish()
        let (c2, r2) = try self.channel()
        try c2.writeInbound(ByteBuffer(string: "PROXY UNKNOWN\r\nhello"))
        c2.embeddedEventLoop.run()
        #expect(r2.headers.count == 1 && r2.headers[0].source == nil)
        #expect(String(buffer: r2.bytes) == "hello")
        _ = try c2.finish()
    }

    @Test func v2IPv4WithTLVAndPayloadInSameRead() throws {
        let (channel, recorder) = try channel()
        var b = v2Header(family: 0x11, addresses: [192, 0, 2, 1, 10, 0, 0, 1, 0x1F, 0x90, 0x00, 0x50], tlv: [0x04, 0x00, 0x01, 0x00])
        b.writeString("payload")
        try channel.writeInbound(b)
        channel.embeddedEventLoop.run()
        #expect(recorder.headers.first?.source == (try SocketAddress(ipAddress: "192.0.2.1", port: 8080)))
        #expect(recorder.headers.first?.destination == (try SocketAddress(ipAddress: "10.0.0.1", port: 80)))
        #expect(String(buffer: recorder.bytes) == "payload")
        _ = try channel.finish()
    }

    @Test func v2IPv6ByteByByte() throws {
        let (channel, recorder) = try channel()
        var addresses: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [0x05]
        addresses += [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [0x06]
        addresses += [0x04, 0xD2, 0x01, 0xBB]
        let header = v2Header(family: 0x21, addresses: addresses)
        for byte in header.readableBytesView { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        #expect(recorder.headers.first?.source == (try SocketAddress(ipAddress: "2001:db8::5", port: 1234)))
        #expect(recorder.headers.first?.destination == (try SocketAddress(ipAddress: "2001:db8::6", port: 443)))
        _ = try channel.finish()
    }

    @Test func v2LocalCommandHasNoAddress() throws {
        let (channel, recorder) = try channel()
        try channel.writeInbound(v2Header(command: 0x20, family: 0x00, addresses: []))
        #expect(recorder.headers.count == 1 && recorder.headers[0].source == nil)
        _ = try channel.finish()
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\n\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 70000 2\r\n",
        "PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n",
        "PROXY TCP9 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY " + String(repeating: "A", count: 120),
    ])
    func badV1HeadersCloseTheConnection(input: String) throws {
        let (channel, recorder) = try channel()
        #expect(throws: ProxyProtocolError.self) { try channel.writeInbound(ByteBuffer(string: input)) }
        #expect(!channel.isActive)
        #expect(recorder.headers.isEmpty && recorder.bytes.readableBytes == 0)
    }

    @Test func badV2HeadersCloseTheConnection() throws {
        for header in [
            v2Header(command: 0x11, family: 0x11, addresses: Array(repeating: 0, count: 12)),  // version 1
            v2Header(command: 0x22, family: 0x11, addresses: Array(repeating: 0, count: 12)),  // command 2
            v2Header(family: 0x11, addresses: [1, 2, 3]),  // short IPv4 block
            v2Header(family: 0x51, addresses: Array(repeating: 0, count: 12)),  // unknown family
        ] {
            let (channel, _) = try channel()
            #expect(throws: ProxyProtocolError.self) { try channel.writeInbound(header) }
            #expect(!channel.isActive)
        }
    }
}
