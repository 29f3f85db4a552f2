/// The parts of a TLS ClientHello that fingerprinting and routing need.
/// Parsed from the raw handshake bytes before the TLS library consumes them.
public struct ClientHello: Sendable, Equatable {
    /// `legacy_version` from the hello body (0x0303 for TLS 1.2 and 1.3 hellos).
    public var legacyVersion: UInt16
    /// Cipher suites in wire order, GREASE included.
    public var cipherSuites: [UInt16]
    /// Extension types in wire order, GREASE included.
    public var extensions: [UInt16]
    /// The SNI host name, if the client sent one.
    public var serverName: String?
    /// ALPN protocol names in order (raw bytes, they need not be UTF-8).
    public var alpn: [[UInt8]]
    /// `supported_versions` in order, GREASE included.
    public var supportedVersions: [UInt16]
    /// `signature_algorithms` in order, GREASE included.
    public var signatureAlgorithms: [UInt16]

    /// Why a ClientHello could not be parsed.
    public enum ParseError: Error, Sendable, Equatable {
        case notHandshake
        case notClientHello
        case truncated
        case malformed(String)
    }

    /// Parses a ClientHello from the beginning of a TLS stream: one or more TLS records
    /// (content type 22) carrying the handshake message. Returns nil when more bytes are needed.
    public static func parse(records bytes: [UInt8]) throws(ParseError) -> ClientHello? {
        // Reassemble the handshake payload from as many records as it spans.
        var handshake: [UInt8] = []
        var offset = 0
        var needed: Int? = nil
        while needed == nil || handshake.count < needed! {
            guard offset + 5 <= bytes.count else { return nil }
            guard bytes[offset] == 22 else { throw .notHandshake }
            let length = Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
            guard length > 0, length <= 16_384 + 2048 else { throw .malformed("record length \(length)") }
            guard offset + 5 + length <= bytes.count else { return nil }
            handshake.append(contentsOf: bytes[(offset + 5)..<(offset + 5 + length)])
            offset += 5 + length
            if needed == nil, handshake.count >= 4 {
                guard handshake[0] == 1 else { throw .notClientHello }
                let bodyLength = Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
                guard bodyLength <= 64 * 1024 else { throw .malformed("hello length \(bodyLength)") }
                needed = 4 + bodyLength
            }
        }
        return try parse(handshakeMessage: Array(handshake[0..<needed!]))
    }

    /// Parses a ClientHello handshake message (type 1, 3-byte length, body).
    public static func parse(handshakeMessage message: [UInt8]) throws(ParseError) -> ClientHello {
        var r = Reader(message)
        guard try r.u8() == 1 else { throw .notClientHello }
        let bodyLength = try r.u24()
        guard bodyLength == r.remaining else { throw .malformed("hello length mismatch") }
        let version = try r.u16()
        try r.skip(32)  // random
        let sessionIDLength = Int(try r.u8())
        try r.skip(sessionIDLength)
        let cipherBytes = Int(try r.u16())
        guard cipherBytes % 2 == 0 else { throw .malformed("odd cipher list") }
        var ciphers: [UInt16] = []
        ciphers.reserveCapacity(cipherBytes / 2)
        for _ in 0..<(cipherBytes / 2) { ciphers.append(try r.u16()) }
        let compressionLength = Int(try r.u8())
        try r.skip(compressionLength)
        var hello = ClientHello(
            legacyVersion: version, cipherSuites: ciphers, extensions: [], serverName: nil, alpn: [],
            supportedVersions: [], signatureAlgorithms: [])
        guard r.remaining > 0 else { return hello }
        let extensionsLength = Int(try r.u16())
        guard extensionsLength == r.remaining else { throw .malformed("extensions length mismatch") }
        while r.remaining > 0 {
            let type = try r.u16()
            let length = Int(try r.u16())
            var e = Reader(try r.bytes(length))
            hello.extensions.append(type)
            switch type {
            case 0x0000:  // server_name
                _ = try e.u16()
                while e.remaining > 0 {
                    let nameType = try e.u8()
                    let name = try e.bytes(Int(try e.u16()))
                    if nameType == 0 && hello.serverName == nil { hello.serverName = String(decoding: name, as: UTF8.self) }
                }
            case 0x0010:  // application_layer_protocol_negotiation
                _ = try e.u16()
                while e.remaining > 0 { hello.alpn.append(try e.bytes(Int(try e.u8()))) }
            case 0x002b:  // supported_versions
                let n = Int(try e.u8())
                for _ in 0..<(n / 2) { hello.supportedVersions.append(try e.u16()) }
            case 0x000d:  // signature_algorithms
                let n = Int(try e.u16())
                for _ in 0..<(n / 2) { hello.signatureAlgorithms.append(try e.u16()) }
            default:
                break
            }
        }
        return hello
    }

    /// A bounds-checked big-endian reader.
    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var remaining: Int { bytes.count - index }

        mutating func u8() throws(ParseError) -> UInt8 {
            guard remaining >= 1 else { throw .truncated }
            defer { index += 1 }
            return bytes[index]
        }
        mutating func u16() throws(ParseError) -> UInt16 {
            guard remaining >= 2 else { throw .truncated }
            defer { index += 2 }
            return UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
        }
        mutating func u24() throws(ParseError) -> Int {
            guard remaining >= 3 else { throw .truncated }
            defer { index += 3 }
            return Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
        }
        mutating func skip(_ n: Int) throws(ParseError) {
            guard n >= 0, remaining >= n else { throw .truncated }
            index += n
        }
        mutating func bytes(_ n: Int) throws(ParseError) -> [UInt8] {
            guard n >= 0, remaining >= n else { throw .truncated }
            defer { index += n }
            return Array(bytes[index..<(index + n)])
        }
    }
}
