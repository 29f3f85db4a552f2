import NIOCore
import NIOHTTP1
import NIOPosix

/// A response as ``LoopbackHTTPClient`` read it.
public struct LoopbackHTTPResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: String
}

/// A minimal HTTP/1.1 client for tests on loopback: sends requests pipelined on one connection,
/// optionally from a chosen source address (any of 127.0.0.0/8 on Linux), and returns the
/// responses in order. Every exchange gives up after `timeout` by closing its connection.
public enum LoopbackHTTPClient {
    /// One request: a head and an optional body (`Content-Length` is added for a body).
    public struct Request: Sendable {
        public var head: HTTPRequestHead
        public var body: String?

        public init(_ method: HTTPMethod = .GET, _ uri: String = "/", headers: HTTPHeaders = [:], body: String? = nil) {
            var headers = headers
            if !headers.contains(name: "Host") { headers.add(name: "Host", value: "localhost") }
            if let body { headers.replaceOrAdd(name: "Content-Length", value: String(body.utf8.count)) }
            self.head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
            self.body = body
        }
    }

    /// Sends `requests` back to back on one connection to `host`:`port` (from `source` when
    /// given) and reads one response per request.
    public static func exchange(
        _ requests: [Request], host: String = "127.0.0.1", port: Int, from source: String? = nil,
        timeout: TimeAmount = .seconds(10), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> [LoopbackHTTPResponse] {
        var bootstrap = ClientBootstrap(group: group)
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        let channel = try await bootstrap.connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                    wrappingChannelSynchronously: channel)
            }
        }
        let deadline = channel.channel.eventLoop.scheduleTask(in: timeout) { [channel = channel.channel] in
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            for request in requests {
                try await outbound.write(.head(request.head))
                if let body = request.body { try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body)))) }
                try await outbound.write(.end(nil))
            }
            var responses: [LoopbackHTTPResponse] = []
            var current: LoopbackHTTPResponse?
            for try await part in inbound {
                switch part {
                case .head(let head): current = LoopbackHTTPResponse(head: head, body: "")
                case .body(let buffer): current?.body += String(buffer: buffer)
                case .end:
                    if let current { responses.append(current) }
                    current = nil
                }
                if responses.count == requests.count { break }
            }
            return responses
        }
    }
}
