import Levee
import NIOCore
import NIOHTTP1

/// Builds the bytes of requests once, before the run, so that the hot path only writes a shared buffer.
public struct RequestEncoder: Sendable {
    public var hostHeader: String
    public var headers: [(String, String)]
    public var body: String?
    public var extraHeaderCount: Int
    public var oversizedHeaderBytes: Int
    public var connectionClose: Bool

    /// Takes headers, body and padding from the class; its own `Host` header wins over `defaultHost`.
    public init(hostHeader defaultHost: String, trafficClass c: TrafficClass) {
        hostHeader = c.headers.first { $0.0.lowercased() == "host" }?.1 ?? defaultHost
        headers = c.headers.filter { $0.0.lowercased() != "host" }
        body = c.body
        extraHeaderCount = c.extraHeaderCount
        oversizedHeaderBytes = c.oversizedHeaderBytes
        connectionClose = c.newConnectionPerRequest
    }

    /// The full request; `forwardedFor` adds an `X-Forwarded-For` header.
    public func encode(method: String, path: String, forwardedFor: String? = nil) -> ByteBuffer {
        var b = ByteBuffer()
        b.reserveCapacity(128 + oversizedHeaderBytes + extraHeaderCount * 24 + (body?.utf8.count ?? 0))
        b.writeString("\(method) \(path) HTTP/1.1\r\n")
        forEachHeader(method: method, forwardedFor: forwardedFor) { name, value in
            b.writeString(name)
            b.writeString(": ")
            b.writeString(value)
            b.writeString("\r\n")
        }
        b.writeString("\r\n")
        if let body { b.writeString(body) }
        return b
    }

    /// The same request as HTTP/1-style parts for an HTTP/2 stream (through
    /// `HTTP2FramePayloadToHTTP1ClientCodec`, which turns `Host` into `:authority` and drops
    /// connection-specific fields such as `Connection: close`). The body is ``bodyBuffer``.
    public func head(method: String, path: String, forwardedFor: String? = nil) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        forEachHeader(method: method, forwardedFor: forwardedFor) { headers.add(name: $0, value: $1) }
        return HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path, headers: headers)
    }

    /// The request body, if the class has one.
    public var bodyBuffer: ByteBuffer? { body.map { ByteBuffer(string: $0) } }

    /// Every header field of a request, in wire order: the one list both encodings are built from.
    func forEachHeader(method: String, forwardedFor: String?, _ emit: (String, String) -> Void) {
        emit("Host", hostHeader)
        for (name, value) in headers { emit(name, value) }
        if let forwardedFor { emit("X-Forwarded-For", forwardedFor) }
        for i in 0..<extraHeaderCount { emit("X-Levee-Pad-\(i)", "x") }
        if oversizedHeaderBytes > 0 { emit("X-Levee-Big", String(repeating: "a", count: oversizedHeaderBytes)) }
        if connectionClose { emit("Connection", "close") }
        if let body {
            emit("Content-Length", String(body.utf8.count))
        } else if method == "POST" || method == "PUT" || method == "PATCH" {
            emit("Content-Length", "0")
        }
    }
}

/// The PROXY protocol header (v1 text or v2 binary) that announces a client address ahead of the request.
/// An IPv6 source goes as TCP6 / AF_INET6, with an IPv4 destination written IPv4-mapped
/// (`::ffff:127.0.0.1`): both addresses of a header are of one family.
public enum ProxyProtocolHeader {
    /// `PROXY TCP4 src dst sport dport\r\n` (or `TCP6`)
    public static func v1(source: String, destination: String, sourcePort: Int, destinationPort: Int) -> ByteBuffer {
        guard source.contains(":") else {
            return ByteBuffer(string: "PROXY TCP4 \(source) \(destination) \(sourcePort) \(destinationPort)\r\n")
        }
        let target = destination.contains(":") ? destination : "::ffff:" + destination
        return ByteBuffer(string: "PROXY TCP6 \(source) \(target) \(sourcePort) \(destinationPort)\r\n")
    }

    /// The 12-byte signature, PROXY command, TCP over IPv4 (12 address bytes) or IPv6 (36).
    public static func v2(source: String, destination: String, sourcePort: Int, destinationPort: Int) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeBytes([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A])
        b.writeInteger(UInt8(0x21))  // version 2, PROXY
        if source.contains(":") {
            b.writeInteger(UInt8(0x21))  // AF_INET6, STREAM
            b.writeInteger(UInt16(36))
            // IPv4-mapped for an IPv4 destination: the core's parser gives every address that form.
            for address in [source, destination] {
                let key = LimiterKey(address: address)
                b.writeInteger(key?.high ?? 0)
                b.writeInteger(key?.low ?? 0)
            }
        } else {
            b.writeInteger(UInt8(0x11))  // AF_INET, STREAM
            b.writeInteger(UInt16(12))
            b.writeInteger(SourceAddressRange.parse(source) ?? 0)
            b.writeInteger(SourceAddressRange.parse(destination) ?? 0)
        }
        b.writeInteger(UInt16(truncatingIfNeeded: sourcePort))
        b.writeInteger(UInt16(truncatingIfNeeded: destinationPort))
        return b
    }

}
