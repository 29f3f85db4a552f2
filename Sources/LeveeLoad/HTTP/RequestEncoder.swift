import NIOCore

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
        b.writeString("\(method) \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\n")
        for (name, value) in headers { b.writeString("\(name): \(value)\r\n") }
        if let forwardedFor { b.writeString("X-Forwarded-For: \(forwardedFor)\r\n") }
        for i in 0..<extraHeaderCount { b.writeString("X-Levee-Pad-\(i): x\r\n") }
        if oversizedHeaderBytes > 0 {
            b.writeString("X-Levee-Big: ")
            b.writeRepeatingByte(UInt8(ascii: "a"), count: oversizedHeaderBytes)
            b.writeString("\r\n")
        }
        if connectionClose { b.writeString("Connection: close\r\n") }
        if let body {
            b.writeString("Content-Length: \(body.utf8.count)\r\n\r\n")
            b.writeString(body)
        } else if method == "POST" || method == "PUT" || method == "PATCH" {
            b.writeString("Content-Length: 0\r\n\r\n")
        } else {
            b.writeString("\r\n")
        }
        return b
    }
}

/// The PROXY protocol header (v1 text or v2 binary) that announces a client address ahead of the request.
public enum ProxyProtocolHeader {
    /// `PROXY TCP4 src dst sport dport\r\n`
    public static func v1(source: String, destination: String, sourcePort: Int, destinationPort: Int) -> ByteBuffer {
        ByteBuffer(string: "PROXY TCP4 \(source) \(destination) \(sourcePort) \(destinationPort)\r\n")
    }

    /// The 16-byte signature + PROXY command + TCP over IPv4 + 12 address bytes.
    public static func v2(source: String, destination: String, sourcePort: Int, destinationPort: Int) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeBytes([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A])
        b.writeInteger(UInt8(0x21))  // version 2, PROXY
        b.writeInteger(UInt8(0x11))  // AF_INET, STREAM
        b.writeInteger(UInt16(12))
        b.writeInteger(SourceAddressRange.parse(source) ?? 0)
        b.writeInteger(SourceAddressRange.parse(destination) ?? 0)
        b.writeInteger(UInt16(truncatingIfNeeded: sourcePort))
        b.writeInteger(UInt16(truncatingIfNeeded: destinationPort))
        return b
    }
}
