import LeveeProxy
import NIOCore
import NIOEmbedded
import Testing

/// Builds ClientHello records byte by byte, so the tests know exactly what is on the wire.
struct ClientHelloBuilder {
    var ciphers: [UInt16]
    var extensions: [(UInt16, [UInt8])]

    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func list16(_ values: [UInt16]) -> [UInt8] { values.flatMap(u16) }

    /// The FoxIO JA4 specification's worked example (technical_details/JA4.md), with GREASE added
    /// in the cipher list, the extension list, supported_versions and supported_groups.
    static func specificationExample() -> ClientHelloBuilder {
        let sni: [UInt8] = {
            let name = Array("example.com".utf8)
            let entry = [0] + u16(UInt16(name.count)) + name
            return u16(UInt16(entry.count)) + entry
        }()
        let alpn: [UInt8] = {
            let protos = [Array("h2".utf8), Array("http/1.1".utf8)].flatMap { [UInt8($0.count)] + $0 }
            return u16(UInt16(protos.count)) + protos
        }()
        let versions = [UInt8(6)] + list16([0x3A3A, 0x0304, 0x0303])
        let sigs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601] as [UInt16]
        let sigAlgs = u16(UInt16(sigs.count * 2)) + list16(sigs)
        let groups = u16(6) + list16([0x5A5A, 0x001D, 0x0017])
        // Wire order from the specification's JA4_ro: 001b,0000,0033,0010,4469,0017,002d,000d,
        // 0005,0023,0012,002b,ff01,000b,000a,0015 — plus a leading GREASE extension.
        let exts: [(UInt16, [UInt8])] = [
            (0x0A0A, []), (0x001B, [2, 0, 2]), (0x0000, sni), (0x0033, u16(0)), (0x0010, alpn),
            (0x4469, [0, 3, 2, 0x68, 0x32]), (0x0017, []), (0x002D, [1, 1]), (0x000D, sigAlgs),
            (0x0005, [1, 0, 0, 0, 0]), (0x0023, []), (0x0012, []), (0x002B, versions), (0xFF01, [0]),
            (0x000B, [1, 0]), (0x000A, groups), (0x0015, [0, 0, 0]),
        ]
        let ciphers: [UInt16] = [
            0x1A1A, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014,
            0x009C, 0x009D, 0x002F, 0x0035,
        ]
        return ClientHelloBuilder(ciphers: ciphers, extensions: exts)
    }

    func handshakeMessage() -> [UInt8] {
        var body: [UInt8] = Self.u16(0x0303) + [UInt8](repeating: 7, count: 32) + [32] + [UInt8](repeating: 9, count: 32)
        body += Self.u16(UInt16(ciphers.count * 2)) + Self.list16(ciphers)
        body += [1, 0]
        let extBytes = extensions.flatMap { Self.u16($0.0) + Self.u16(UInt16($0.1.count)) + $0.1 }
        body += Self.u16(UInt16(extBytes.count)) + extBytes
        return [1, UInt8(body.count >> 16), UInt8((body.count >> 8) & 0xFF), UInt8(body.count & 0xFF)] + body
    }

    /// The handshake message split into TLS records of at most `recordSize` bytes.
    func records(recordSize: Int = 16_384) -> [UInt8] {
        let message = handshakeMessage()
        var out: [UInt8] = []
        var i = 0
        while i < message.count {
            let chunk = message[i..<min(i + recordSize, message.count)]
            out += [22, 3, 1] + Self.u16(UInt16(chunk.count)) + chunk
            i += recordSize
        }
        return out
    }
}

@Suite struct JA4FingerprintTests {
    @Test func specificationExampleGivesTheSpecifiedFingerprints() throws {
        let hello = try #require(try ClientHello.parse(records: ClientHelloBuilder.specificationExample().records()))
        #expect(hello.serverName == "example.com")
        #expect(hello.alpn.first == Array("h2".utf8))
        #expect(JA4Fingerprint(hello).description == "t13d1516h2_8daaf6152771_e5627efa2ab1")
        #expect(JA4Fingerprint(hello, originalOrder: true).description == "t13d1516h2_acb858a92679_18f69afefd3d")
    }

    @Test func helloSpanningSeveralRecordsParsesTheSame() throws {
        let builder = ClientHelloBuilder.specificationExample()
        let whole = try #require(try ClientHello.parse(records: builder.records()))
        let split = try #require(try ClientHello.parse(records: builder.records(recordSize: 50)))
        #expect(whole == split)
    }

    @Test func incompleteInputAsksForMoreAndGarbageIsRejected() throws {
        let bytes = ClientHelloBuilder.specificationExample().records()
        for cut in [0, 3, 5, 60, bytes.count - 1] {
            #expect(try ClientHello.parse(records: Array(bytes.prefix(cut))) == nil)
        }
        #expect(throws: ClientHello.ParseError.notHandshake) {
            try ClientHello.parse(records: Array("GET / HTTP/1.1\r\n\r\n".utf8))
        }
    }

    @Test func withoutSNIOrALPNOrExtensions() throws {
        var builder = ClientHelloBuilder.specificationExample()
        builder.extensions.removeAll { $0.0 == 0x0000 || $0.0 == 0x0010 }
        let hello = try #require(try ClientHello.parse(records: builder.records()))
        #expect(JA4Fingerprint(hello).a == "t13i151400")
        builder.extensions = []
        let bare = try #require(try ClientHello.parse(records: builder.records()))
        let ja4 = JA4Fingerprint(bare)
        #expect(ja4.a == "t12i1500" + "00")
        #expect(ja4.c == "000000000000")
    }

    @Test func greaseIsRecognised() {
        for v: UInt16 in [0x0A0A, 0x1A1A, 0xFAFA] { #expect(JA4Fingerprint.isGREASE(v)) }
        for v: UInt16 in [0x0A1A, 0x1301, 0x0000] { #expect(!JA4Fingerprint.isGREASE(v)) }
    }

    @Test func snifferFiresTheFingerprintAndPassesBytesThroughUnchanged() throws {
        let channel = EmbeddedChannel()
        let recorder = EventRecorder()
        try channel.pipeline.syncOperations.addHandler(ClientHelloSniffer())
        try channel.pipeline.syncOperations.addHandler(recorder)
        let bytes = ClientHelloBuilder.specificationExample().records() + Array("after".utf8)
        // Deliver in awkward pieces: the sniffer must wait for the whole hello.
        var i = 0
        for size in [1, 4, 7, 100, 3] + [Int](repeating: 64, count: 20) where i < bytes.count {
            let piece = Array(bytes[i..<min(i + size, bytes.count)])
            try channel.writeInbound(ByteBuffer(bytes: piece))
            i += size
        }
        if i < bytes.count { try channel.writeInbound(ByteBuffer(bytes: Array(bytes[i...]))) }
        #expect(recorder.ja4 == ["t13d1516h2_8daaf6152771_e5627efa2ab1"])
        var received: [UInt8] = []
        while var chunk = try channel.readInbound(as: ByteBuffer.self) { received += chunk.readBytes(length: chunk.readableBytes)! }
        #expect(received == bytes)
        #expect(throws: Never.self) { _ = try channel.finish() }
    }

    @Test func snifferHandsOnNonTLSBytesWithoutAFingerprint() throws {
        let channel = EmbeddedChannel()
        let recorder = EventRecorder()
        try channel.pipeline.syncOperations.addHandler(ClientHelloSniffer())
        try channel.pipeline.syncOperations.addHandler(recorder)
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"))
        #expect(recorder.events == 1)
        #expect(recorder.ja4.isEmpty)
        var chunk = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(chunk.readString(length: chunk.readableBytes) == "GET / HTTP/1.1\r\n\r\n")
    }
}

final class EventRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    var events = 0
    var ja4: [String] = []
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? TLSClientHelloEvent {
            events += 1
            if let f = e.ja4 { ja4.append(f.description) }
        }
        context.fireUserInboundEventTriggered(event)
    }
}
