import NIOCore
import NIOEmbedded
import Testing

@testable import LeveeProxy

/// `FlushCoalescer` (HTTP/2 connections): the flushes of one event-loop tick become one.
@Suite struct FlushCoalescerTests {
    /// Counts the flushes that reach the socket side.
    final class FlushCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        var flushes = 0
        func flush(context: ChannelHandlerContext) {
            flushes += 1
            context.flush()
        }
    }

    @Test func flushesOfOneTickLeaveAsOne() throws {
        let counter = FlushCounter()
        let channel = EmbeddedChannel(handlers: [counter, FlushCoalescer()])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        for text in ["one", "two", "three"] {
            channel.write(ByteBuffer(string: text), promise: nil)
            channel.flush()
        }
        #expect(counter.flushes == 0)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.run()  // the tick's tasks
        #expect(counter.flushes == 1)
        var received = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { received += String(buffer: buffer) }
        #expect(received == "onetwothree")
        // The next tick flushes again.
        channel.writeAndFlush(ByteBuffer(string: "four"), promise: nil)
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 2)
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "four")
        _ = try channel.finish()
    }

    @Test func closeFlushesWhatIsPendingFirst() throws {
        let counter = FlushCounter()
        let channel = EmbeddedChannel(handlers: [counter, FlushCoalescer()])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.writeAndFlush(ByteBuffer(string: "goaway"), promise: nil)
        #expect(counter.flushes == 0)
        channel.close(promise: nil)  // e.g. after a GOAWAY: the frame must not be lost
        #expect(counter.flushes == 1)
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "goaway")
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 1)  // the scheduled flush found nothing left to do
    }
}
