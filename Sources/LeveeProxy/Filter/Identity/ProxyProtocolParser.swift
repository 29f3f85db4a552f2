import NIOCore

/// Errors for a connection whose PROXY protocol header is malformed; the connection is closed.
public enum ProxyProtocolError: Error, Sendable, Equatable {
    /// The first bytes are neither `PROXY ` (v1) nor the v2 signature.
    case notProxyProtocol
    /// v1 line longer than 107 bytes without CRLF.
    case lineTooLong
    case malformedV1(String)
    case unsupportedVersion(UInt8)
    case unsupportedCommand(UInt8)
    case malformedV2(String)
    /// The connection ended before the header was complete.
    case truncated
}

/// Parses a PROXY protocol v1 or v2 header from the start of a connection's bytes, free of I/O.
///
/// `parse` returns nil while more bytes are needed, the header once complete (consuming exactly
/// its bytes), or throws for anything malformed. The spec is haproxy's `proxy-protocol.txt`.
public struct ProxyProtocolParser: Sendable {
    /// The 12-byte v2 signature.
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    static let v1Prefix: [UInt8] = Array("PROXY ".utf8)
    /// v1 lines are at most 107 bytes including CRLF.
    static let v1MaxLength = 107
    /// Upper bound on the v2 address+TLV block we accept (real load balancers send < 1 KiB).
    public static let v2MaxLength = 4096

    public init() {}

    public func parse(_ buffer: inout ByteBuffer) throws -> ProxyProtocolHeader? {
        let readable = buffer.readableBytesView
        guard let first = readable.first else { return nil }
        if first == UInt8(ascii: "P") {
            let n = min(readable.count, Self.v1Prefix.count)
            guard readable.prefix(n).elementsEqual(Self.v1Prefix.prefix(n)) else { throw ProxyProtocolError.notProxyProtocol }
            return try parseV1(&buffer)
        }
        if first == 0x0D {
            let n = min(readable.count, Self.v2Signature.count)
            guard readable.prefix(n).elementsEqual(Self.v2Signature.prefix(n)) else { throw ProxyProtocolError.notProxyProtocol }
            return try parseV2(&buffer)
        }
        throw ProxyProtocolError.notProxyProtocol
    }

    private func parseV1(_ buffer: inout ByteBuffer) throws -> ProxyProtocolHeader? {
        let view = buffer.readableBytesView
        var lineEnd: Int?
        var previous: UInt8 = 0
        for (offset, byte) in view.prefix(Self.v1MaxLength).enumerated() {
            if previous == 0x0D && byte == 0x0A { lineEnd = offset + 1; break }
            previous = byte
        }
        guard let length = lineEnd else {
            if view.count >= Self.v1MaxLength { throw ProxyProtocolError.lineTooLong }
            return nil
        }
        let line = String(decoding: view.prefix(length - 2), as: UTF8.self)
        buffer.moveReaderIndex(forwardBy: length)
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count >= 2, fields[0] == "PROXY" else { throw ProxyProtocolError.malformedV1("bad line") }
        switch fields[1] {
        case "UNKNOWN":
            return ProxyProtocolHeader(source: nil, destination: nil)
        case "TCP4", "TCP6":
            guard fields.count == 6 else { throw ProxyProtocolError.malformedV1("expected 6 fields") }
            let wantV4 = fields[1] == "TCP4"
            guard let src = ClientAddress(fields[2]), let dst = ClientAddress(fields[3]),
                  let sport = Self.port(fields[4]), let dport = Self.port(fields[5])
            else { throw ProxyProtocolError.malformedV1("bad address or port") }
            // TCP6 may carry an IPv4-mapped address that normalizes to IPv4; TCP4 must be IPv4.
            if wantV4 && (!src.isIPv4 || !dst.isIPv4) { throw ProxyProtocolError.malformedV1("TCP4 with non-IPv4 address") }
            if !wantV4 && (!fields[2].contains(":") || !fields[3].contains(":")) {
                throw ProxyProtocolError.malformedV1("TCP6 with non-IPv6 address")
            }
            return ProxyProtocolHeader(source: try Self.socketAddress(src, sport), destination: try Self.socketAddress(dst, dport))
        default:
            throw ProxyProtocolError.malformedV1("unknown protocol \(fields[1])")
        }
    }

    private func parseV2(_ buffer: inout ByteBuffer) throws -> ProxyProtocolHeader? {
        guard buffer.readableBytes >= 16 else { return nil }
        let start = buffer.readerIndex
        let verCmd = buffer.getInteger(at: start + 12, as: UInt8.self)!
        let family = buffer.getInteger(at: start + 13, as: UInt8.self)!
        let length = Int(buffer.getInteger(at: start + 14, as: UInt16.self)!)
        guard verCmd >> 4 == 2 else { throw ProxyProtocolError.unsupportedVersion(verCmd >> 4) }
        let command = verCmd & 0x0F
        guard command <= 1 else { throw ProxyProtocolError.unsupportedCommand(command) }
        guard length <= Self.v2MaxLength else { throw ProxyProtocolError.malformedV2("length \(length) too large") }
        guard buffer.readableBytes >= 16 + length else { return nil }
        buffer.moveReaderIndex(forwardBy: 16)
        var block = buffer.readSlice(length: length)!
        // LOCAL: the balancer speaking for itself (health checks); keep the socket address.
        if command == 0 { return ProxyProtocolHeader(source: nil, destination: nil) }
        switch family {
        case 0x11, 0x12:  // TCP or UDP over IPv4
            guard length >= 12, let s = block.readInteger(as: UInt32.self), let d = block.readInteger(as: UInt32.self),
                  let sp = block.readInteger(as: UInt16.self), let dp = block.readInteger(as: UInt16.self)
            else { throw ProxyProtocolError.malformedV2("short IPv4 address block") }
            return ProxyProtocolHeader(
                source: try Self.socketAddress(.v4(s), Int(sp)), destination: try Self.socketAddress(.v4(d), Int(dp)))
        case 0x21, 0x22:  // TCP or UDP over IPv6
            guard length >= 36, let sh = block.readInteger(as: UInt64.self), let sl = block.readInteger(as: UInt64.self),
                  let dh = block.readInteger(as: UInt64.self), let dl = block.readInteger(as: UInt64.self),
                  let sp = block.readInteger(as: UInt16.self), let dp = block.readInteger(as: UInt16.self)
            else { throw ProxyProtocolError.malformedV2("short IPv6 address block") }
            return ProxyProtocolHeader(
                source: try Self.socketAddress(.v6(high: sh, low: sl), Int(sp)),
                destination: try Self.socketAddress(.v6(high: dh, low: dl), Int(dp)))
        case 0x00, 0x31, 0x32:  // UNSPEC or Unix sockets: no IP to announce
            return ProxyProtocolHeader(source: nil, destination: nil)
        default:
            throw ProxyProtocolError.malformedV2("unknown address family 0x\(String(family, radix: 16))")
        }
    }

    static func port(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.count <= 5, s.allSatisfy(\.isASCII), let p = Int(s), p >= 0, p <= 65535 else { return nil }
        if s.count > 1 && s.first == "0" { return nil }
        return p
    }

    static func socketAddress(_ a: ClientAddress, _ port: Int) throws -> SocketAddress {
        do {
            return try SocketAddress(ipAddress: a.description, port: port)
        } catch {
            throw ProxyProtocolError.malformedV2("unusable address \(a)")
        }
    }
}
