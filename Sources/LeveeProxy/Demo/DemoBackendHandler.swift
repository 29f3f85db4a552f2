import NIOCore
import NIOHTTP1

/// Answers the demo backend's endpoints on one connection. `HTTPServerPipelineHandler` in front
/// of it holds pipelined requests until the current response has ended.
final class DemoBackendHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Largest `/bytes/N` served.
    static let maxBytes = 1 << 30
    /// Longest `/slow?ms=N` wait.
    static let maxSlowMilliseconds = 60_000
    private static let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 * 1024)

    private enum State {
        case idle
        /// Waiting for the end of a request whose answer is fixed (`keepAlive` from its head).
        case answering(HTTPRequestHead, Answer)
        /// Copying the request body back.
        case echoing(HTTPRequestHead)
        /// Writing `/bytes/N` while the channel is writable.
        case streaming(remaining: Int, keepAlive: Bool)
    }

    private enum Answer {
        case fixed(HTTPResponseStatus, contentType: String, body: String)
        case bytes(Int)
        case slow(milliseconds: Int)
        /// Over capacity: 503 with `Retry-After`.
        case overloaded
    }

    private var state = State.idle
    private let capacity: DemoCapacity?

    init(capacity: DemoCapacity? = nil) {
        self.capacity = capacity
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), _):
            if head.uri.hasPrefix("/echo") {
                var headers: HTTPHeaders = ["content-type": head.headers.first(name: "content-type") ?? "application/octet-stream"]
                if let length = head.headers.first(name: "content-length") {
                    headers.add(name: "content-length", value: length)
                } else {
                    headers.add(name: "transfer-encoding", value: "chunked")
                }
                state = .echoing(head)
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            } else {
                state = .answering(head, Self.answer(for: head))
            }
        case (.body(let buffer), .echoing):
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        case (.body, _):
            break  // other endpoints ignore request bodies
        case (.end, .echoing(let head)):
            state = .idle
            finish(context: context, keepAlive: head.isKeepAlive)
        case (.end, .answering(let head, let answer)):
            admit(context: context, head: head, answer: answer)
        case (.end, _):
            break
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .streaming = state, context.channel.isWritable { writeMoreBytes(context: context) }
        context.fireChannelWritabilityChanged()
    }

    private static func answer(for head: HTTPRequestHead) -> Answer {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let query = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        switch path {
        case "/":
            return .fixed(.ok, contentType: "text/html; charset=utf-8", body: DemoPages.index)
        case "/api/hello":
            return .fixed(.ok, contentType: "application/json", body: #"{"message":"hello from the Levee demo backend"}"# + "\n")
        case "/slow":
            let ms = query.split(separator: "&").compactMap { pair -> Int? in
                let parts = pair.split(separator: "=", maxSplits: 1)
                return parts.count == 2 && parts[0] == "ms" ? Int(parts[1]) : nil
            }.first ?? 1000
            return .slow(milliseconds: min(max(ms, 0), maxSlowMilliseconds))
        default:
            if path.hasPrefix("/bytes/"), let n = Int(path.dropFirst("/bytes/".count)), n >= 0 {
                guard n <= maxBytes else {
                    return .fixed(.badRequest, contentType: "text/plain", body: "at most \(maxBytes) bytes\n")
                }
                return .bytes(n)
            }
            if path.hasPrefix("/status/"), let code = Int(path.dropFirst("/status/".count)), (200...599).contains(code) {
                let status = HTTPResponseStatus(statusCode: code)
                return .fixed(status, contentType: "text/plain", body: "\(code) \(status.reasonPhrase)\n")
            }
            return .fixed(.notFound, contentType: "text/plain", body: "not found; try /, /api/hello, /bytes/N, /echo, /slow?ms=N, /status/N\n")
        }
    }

    /// Runs the answer through the capacity model, if any: at once, after its queueing and
    /// service delay, or 503 when the queue is full.
    private func admit(context: ChannelHandlerContext, head: HTTPRequestHead, answer: Answer) {
        guard let capacity else { return respond(context: context, head: head, answer: answer) }
        switch capacity.admit() {
        case .overloaded:
            respond(context: context, head: head, answer: .overloaded)
        case .serve(let delay) where delay <= .zero:
            respond(context: context, head: head, answer: answer)
        case .serve(let delay):
            let loopBoundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
            let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: delay) {
                loopBoundSelf.value.respond(context: loopBoundContext.value, head: head, answer: answer)
            }
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, answer: Answer) {
        switch answer {
        case .overloaded:
            state = .idle
            let text = "backend over capacity\n"
            let headers: HTTPHeaders = ["content-type": "text/plain", "content-length": String(text.utf8.count), "retry-after": "1"]
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .serviceUnavailable, headers: headers))), promise: nil)
            if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil) }
            finish(context: context, keepAlive: head.isKeepAlive)
        case .fixed(let status, let contentType, let text):
            state = .idle
            let noBody = head.method == .HEAD || status == .noContent || status == .notModified
            var headers: HTTPHeaders = ["content-type": contentType]
            if status != .noContent && status != .notModified { headers.add(name: "content-length", value: String(text.utf8.count)) }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            if !noBody { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil) }
            finish(context: context, keepAlive: head.isKeepAlive)
        case .bytes(let count):
            let headers: HTTPHeaders = ["content-type": "application/octet-stream", "content-length": String(count)]
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            state = .streaming(remaining: head.method == .HEAD ? 0 : count, keepAlive: head.isKeepAlive)
            writeMoreBytes(context: context)
        case .slow(let milliseconds):
            let loopBoundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
            let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(Int64(milliseconds))) {
                loopBoundSelf.value.respond(
                    context: loopBoundContext.value, head: head,
                    answer: .fixed(.ok, contentType: "text/plain", body: "slept \(milliseconds) ms\n"))
            }
        }
    }

    private func writeMoreBytes(context: ChannelHandlerContext) {
        guard case .streaming(var remaining, let keepAlive) = state else { return }
        while remaining > 0 && context.channel.isWritable {
            let size = min(remaining, Self.chunk.readableBytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(Self.chunk.getSlice(at: 0, length: size)!))), promise: nil)
            remaining -= size
        }
        if remaining == 0 {
            state = .idle
            finish(context: context, keepAlive: keepAlive)
        } else {
            state = .streaming(remaining: remaining, keepAlive: keepAlive)
            context.flush()
        }
    }

    private func finish(context: ChannelHandlerContext, keepAlive: Bool) {
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in loopBoundContext.value.close(promise: nil) }
        }
    }
}

@available(*, unavailable)
extension DemoBackendHandler: Sendable {}
