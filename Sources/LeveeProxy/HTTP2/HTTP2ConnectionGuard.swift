import Logging
import NIOCore
import NIOHTTP2

/// After `NIOHTTP2Handler` on an HTTP/2 client connection. The HTTP/2 handler counts RST_STREAM
/// frames per connection over a one-second window (configured from `max_resets_per_second`);
/// past the limit it sends GOAWAY (ENHANCE_YOUR_CALM) and reports `ExcessiveRSTFrames`. This
/// handler then closes the connection, counts it, and charges the client (`onAbuse`), so that
/// a rapid-reset flood (CVE-2023-44487) costs the attacker its quota, not our upstreams.
/// Other connection-level HTTP/2 errors close the connection too.
final class HTTP2ConnectionGuard: ChannelInboundHandler {
    typealias InboundIn = Never

    private let metrics: TLSMetrics
    private let logger: Logger
    private let onAbuse: (String) -> Void
    /// One charge per connection, however many errors the rest of its last read produces.
    private var charged = false

    init(metrics: TLSMetrics, logger: Logger, onAbuse: @escaping (String) -> Void) {
        self.metrics = metrics
        self.logger = logger
        self.onAbuse = onAbuse
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOHTTP2Errors.ExcessiveRSTFrames {
            guard !charged else { return }
            charged = true
            metrics.rapidResetClosed.increment()
            logger.notice(
                "HTTP/2 rapid reset: connection closed",
                metadata: ["peer": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")"])
            onAbuse("HTTP/2 rapid reset")
            context.close(promise: nil)
        } else if Self.endsConnection(error) {
            logger.debug("HTTP/2 connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
        // Anything else was a stream error: the HTTP/2 handler already reset that stream alone.
    }

    /// Connection errors (GOAWAY already sent) and I/O errors; not the per-stream ones.
    static func endsConnection(_ error: any Error) -> Bool {
        guard error is any NIOHTTP2Error else { return true }
        return error is NIOHTTP2Errors.ExcessiveEmptyDataFrames || error is NIOHTTP2Errors.ExcessiveNumberOfGlitches
            || error is NIOHTTP2Errors.ExcessiveControlFrames || error is NIOHTTP2Errors.ExcessiveContinuationFrames
            || error is NIOHTTP2Errors.ExcessiveStreamErrors || error is NIOHTTP2Errors.BadClientMagic
            || error is NIOHTTP2Errors.UnableToParseFrame || error is NIOHTTP2Errors.ExcessiveOutboundFrameBuffering
    }
}

@available(*, unavailable)
extension HTTP2ConnectionGuard: Sendable {}
