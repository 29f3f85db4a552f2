import Logging
import NIOCore
import NIOHTTP2
import NIOSSL

/// Builds the pipeline of a TLS client connection:
/// ClientHelloSniffer (JA4) → NIOSSLServerHandler (certificate by SNI) → TLSProtocolSelector,
/// which after the handshake adds either HTTP/1.1 (`http1`) or HTTP/2 (`FlushCoalescer`, then NIOHTTP2 with a stream
/// limit and the rapid-reset defence, then `HTTP2FramePayloadToHTTP1ServerCodec` and `http2Stream`
/// on each stream so that the HTTP/1 proxy handler serves every stream).
enum TLSPipeline {
    static func configure(
        _ channel: any Channel, context tlsContext: TLSServerContext, info: TLSConnectionInfo, metrics: TLSMetrics,
        logger: Logger, http1: @escaping (any Channel) throws -> Void, http2Stream: @escaping (any Channel) throws -> Void,
        onAbuse: @escaping (String) -> Void
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(ClientHelloSniffer(onHello: { event in info.ja4 = event.ja4?.description }))
        try pipeline.addHandler(NIOSSLServerHandler(context: tlsContext.sslContext))
        let settings = tlsContext.configuration
        let selector = TLSProtocolSelector(handshakeTimeout: settings.handshakeTimeout, info: info, metrics: metrics) { negotiated in
            if negotiated == "h2" {
                metrics.http2Connections.increment()
                try TLSPipeline.configureHTTP2(
                    channel, configuration: TLSPipeline.http2Configuration(settings), metrics: metrics, logger: logger,
                    stream: http2Stream, onAbuse: onAbuse)
            } else {
                try http1(channel)
            }
        }
        try pipeline.addHandler(selector)
    }

    /// The HTTP/2 settings sent to clients and the limits enforced on them.
    static func http2Configuration(_ settings: ListenerTLSConfiguration) -> NIOHTTP2Handler.Configuration {
        http2Configuration(maxConcurrentStreams: settings.maxConcurrentStreams, maxResetsPerSecond: settings.maxResetsPerSecond)
    }

    static func http2Configuration(maxConcurrentStreams: Int, maxResetsPerSecond: Int) -> NIOHTTP2Handler.Configuration {
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = nioDefaultSettings.filter { $0.parameter != .maxConcurrentStreams } + [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams)
        ]
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.streamResetFrameRateLimit.maximumCount = maxResetsPerSecond
        stream.streamResetFrameRateLimit.windowLength = .seconds(1)
        return NIOHTTP2Handler.Configuration(connection: connection, stream: stream)
    }

    /// HTTP/2 on `channel` (after TLS, or on a cleartext h2c connection): flush coalescing,
    /// NIOHTTP2 with `configuration`'s limits, the rapid-reset guard, and per stream NIO's HTTP/1
    /// codec and `stream`'s handler.
    static func configureHTTP2(
        _ channel: any Channel, configuration: NIOHTTP2Handler.Configuration, metrics: TLSMetrics, logger: Logger,
        stream: @escaping (any Channel) throws -> Void, onAbuse: @escaping (String) -> Void
    ) throws {
        // Stream channels live on the connection's event loop, so the closure can stay loop-bound.
        let makeStream = NIOLoopBound(stream, eventLoop: channel.eventLoop)
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(FlushCoalescer())
        _ = try pipeline.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: configuration.connection, streamConfiguration: configuration.stream
        ) { streamChannel in
            streamChannel.eventLoop.makeCompletedFuture {
                try streamChannel.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try makeStream.value(streamChannel)
            }
        }
        try pipeline.addHandler(HTTP2ConnectionGuard(metrics: metrics, logger: logger, onAbuse: onAbuse))
    }
}
