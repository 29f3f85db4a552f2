import NIOCore

/// A `MessageToByteEncoder` that writes ``RESPValue``s (commands are arrays of bulk strings).
public struct RESPEncoder: MessageToByteEncoder {
    public typealias OutboundIn = RESPValue

    /// An encoder.
    public init() {}

    public func encode(data: RESPValue, out: inout ByteBuffer) throws {
        data.encode(into: &out)
    }
}
