import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A response as read off the wire by `RawHTTPClient`.
public struct RawHTTPResponse: Sendable {
    public var statusCode: Int
    public var reason: String
    public var version: String
    /// Header fields in order, names as sent.
    public var headers: [(name: String, value: String)]
    public var body: ByteBuffer
    /// Body bytes read (also when they went into a digest instead of `body`).
    public var bodyLength: Int
    /// The raw head as received (status line and fields).
    public var rawHead: String

    /// All values of a field (case-insensitive name).
    public func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    public func value(_ name: String) -> String? { values(name).first }

    public var bodyString: String { String(buffer: body) }
}

/// Errors of `RawHTTPClient`.
public enum RawHTTPClientError: Error {
    case timedOut
    case closedBeforeResponse(received: String)
    case malformed(String)
}

/// A byte-level HTTP/1.1 client over one TCP connection, for tests that must control exactly
/// what goes on the wire (smuggling, pipelining, slowloris, HTTP/1.0) and see exactly what comes
/// back, including when the server closes. Not thread-safe: use it from one task.
public final class RawHTTPClient {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var pending = ByteBuffer()
    private var eof = false

    /// Connects to `host`:`port` on loopback.
    public static func connect(
        host: String = "127.0.0.1", port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RawHTTPClient {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        return RawHTTPClient(channel: channel)
    }

    deinit {
        outbound.finish()
        channel.channel.close(promise: nil)
    }

    private init(channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) {
        self.channel = channel
        // The wrapped channel is owned by this client for its lifetime; closed in close().
        self.inbound = channel.inbound.makeAsyncIterator()
        self.outbound = channel.outbound
    }

    /// The local address of the connection.
    public var localAddress: SocketAddress? { channel.channel.localAddress }

    /// Sends bytes as they are (back-pressured: returns when the channel accepted them).
    public func send(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    public func send(_ buffer: ByteBuffer) async throws {
        try await outbound.write(buffer)
    }

    /// Half-closes the sending side (the server sees end of input).
    public func finishSending() {
        outbound.finish()
    }

    /// Closes the connection.
    public func close() async {
        outbound.finish()
        try? await channel.channel.close()
    }

    /// Reads one response. `headRequest`: the request was HEAD (no body follows).
    /// Informational (1xx) responses are returned like any other. If `digest` is given, body
    /// bytes go into it instead of `body` (for large bodies).
    public func readResponse(
        headRequest: Bool = false, digest: SHA256Digest? = nil, timeout: Duration = .seconds(10)
    ) async throws -> RawHTTPResponse {
        let deadline = ContinuousClock.now + timeout
        // Head.
        var headEnd: Int?
        while true {
            if let index = Self.find(Array("\r\n\r\n".utf8), in: pending) { headEnd = index; break }
            guard try await fill(deadline: deadline) else {
                throw RawHTTPClientError.closedBeforeResponse(received: String(buffer: pending))
            }
        }
        let headText = pending.readString(length: headEnd! + 4)!
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else { throw RawHTTPClientError.malformed(headText) }
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, let code = Int(statusLine[1]) else { throw RawHTTPClientError.malformed(headText) }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw RawHTTPClientError.malformed(headText) }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            headers.append((String(line[..<colon]), String(value)))
        }
        var response = RawHTTPResponse(
            statusCode: code, reason: statusLine.count > 2 ? String(statusLine[2]) : "", version: String(statusLine[0]),
            headers: headers, body: ByteBuffer(), bodyLength: 0, rawHead: headText)
        if headRequest || (100..<200).contains(code) || code == 204 || code == 304 { return response }

        func take(_ count: Int) async throws {
            var remaining = count
            while remaining > 0 {
                if pending.readableBytes == 0 {
                    guard try await fill(deadline: deadline) else {
                        throw RawHTTPClientError.closedBeforeResponse(received: "short body: \(response.bodyLength) bytes")
                    }
                }
                let n = min(remaining, pending.readableBytes)
                let slice = pending.readSlice(length: n)!
                if let digest { digest.update(slice) } else { response.body.writeImmutableBuffer(slice) }
                response.bodyLength += n
                remaining -= n
            }
        }

        if let length = response.value("content-length").flatMap({ Int($0) }) {
            try await take(length)
        } else if response.value("transfer-encoding")?.lowercased().contains("chunked") == true {
            while true {
                let line = try await readLine(deadline: deadline)
                guard let size = Int(line.split(separator: ";").first ?? "", radix: 16) else {
                    throw RawHTTPClientError.malformed("chunk size \(line)")
                }
                if size == 0 {
                    // Trailers until an empty line.
                    while try await !readLine(deadline: deadline).isEmpty {}
                    break
                }
                try await take(size)
                _ = try await readLine(deadline: deadline)
            }
        } else {
            // Delimited by close.
            while true {
                if pending.readableBytes > 0 { try await take(pending.readableBytes) }
                guard try await fill(deadline: deadline) else { break }
            }
        }
        return response
    }

    /// Waits until the server closes the connection, discarding what arrives; returns the bytes
    /// received meanwhile as text. Throws `timedOut` if it stays open past `timeout`.
    @discardableResult
    public func waitForClose(timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while try await fill(deadline: deadline) {}
        let text = String(buffer: pending)
        pending.clear()
        return text
    }

    /// Whether the server has closed (after any pending bytes were consumed), waiting at most
    /// `timeout` for more input.
    public var isClosedByPeer: Bool { eof }

    private func readLine(deadline: ContinuousClock.Instant) async throws -> String {
        while true {
            if let index = Self.find(Array("\r\n".utf8), in: pending) {
                let line = pending.readString(length: index)!
                pending.moveReaderIndex(forwardBy: 2)
                return line
            }
            guard try await fill(deadline: deadline) else { throw RawHTTPClientError.closedBeforeResponse(received: "in chunked body") }
        }
    }

    /// Reads more bytes into `pending`; false at end of input.
    private func fill(deadline: ContinuousClock.Instant) async throws -> Bool {
        if eof { return false }
        // The deadline closes the connection (ending the read below) rather than racing a
        // second task against the iterator.
        let timedOut = NIOLockedValueBox(false)
        let remaining = ContinuousClock.now.duration(to: deadline)
        let nanoseconds = max(0, remaining.components.seconds * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000)
        let channel = self.channel.channel
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            timedOut.withLockedValue { $0 = true }
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        let next: ByteBuffer?
        do {
            next = try await inbound.next()
        } catch {
            next = nil  // reset by the peer counts as closed
        }
        if timedOut.withLockedValue({ $0 }) { throw RawHTTPClientError.timedOut }
        guard var buffer = next else {
            eof = true
            return false
        }
        if pending.readerIndex > 1 << 20 { pending.discardReadBytes() }
        pending.writeBuffer(&buffer)
        return true
    }

    private static func find(_ needle: [UInt8], in buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { raw -> Int? in
            guard raw.count >= needle.count else { return nil }
            var i = 0
            while i <= raw.count - needle.count {
                var match = true
                for j in 0..<needle.count where raw[i + j] != needle[j] {
                    match = false
                    break
                }
                if match { return i }
                i += 1
            }
            return nil
        }
    }
}
