import NIOCore

/// A command on its way to Redis with the promise its reply completes (handler's outbound type).
public struct RESPRequest: Sendable {
    /// The command, an array of bulk strings.
    public var command: RESPValue
    /// Completed with the reply, or failed with a ``RESPError``.
    public var promise: EventLoopPromise<RESPValue>
    /// How long to wait for the reply before the connection is declared stuck; nil waits forever.
    public var timeout: TimeAmount?

    /// A request for `command`.
    public init(command: RESPValue, promise: EventLoopPromise<RESPValue>, timeout: TimeAmount?) {
        self.command = command
        self.promise = promise
        self.timeout = timeout
    }
}
