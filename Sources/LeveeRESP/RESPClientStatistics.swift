/// A snapshot of a client's counters (monotonic since the client was created), for export as
/// metrics by whoever owns the metrics system.
public struct RESPClientStatistics: Sendable, Hashable {
    /// Whether a connection is established right now.
    public var isConnected: Bool
    /// Commands handed to a connection.
    public var commandsSent: Int
    /// Commands that got a non-error reply.
    public var replies: Int
    /// Commands that got an error reply from Redis.
    public var serverErrors: Int
    /// Commands that timed out.
    public var timeouts: Int
    /// Commands that failed for lack of a connection (refused, lost, or waiting to reconnect).
    public var connectionErrors: Int
    /// Successful connections (the first one included).
    public var connects: Int
    /// Failed connection attempts.
    public var connectFailures: Int
    /// Sum of reply latencies of successful commands, in nanoseconds (with `replies`: the mean).
    public var latencySumNanoseconds: Int
    /// The largest reply latency seen, in nanoseconds.
    public var latencyMaximumNanoseconds: Int

    /// All errors: server errors, timeouts and connection errors.
    public var errors: Int { serverErrors + timeouts + connectionErrors }
}
