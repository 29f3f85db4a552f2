/// Where the Redis server is and how patient the client is with it.
public struct RESPClientConfiguration: Sendable {
    /// Host name or address of the Redis server.
    public var host: String
    /// TCP port of the Redis server.
    public var port: Int
    /// How long a TCP connect may take before the attempt counts as failed.
    public var connectTimeout: Duration
    /// How long a command may wait for its reply; the connection is then closed and re-opened.
    /// Keep it short for rate limiting: a slow Redis must not hold up decisions.
    public var commandTimeout: Duration
    /// Delays between reconnect attempts after a failure or a lost connection.
    public var backoff: RESPBackoff
    /// The most commands queued while a connection is being established; more fail at once.
    public var maximumQueuedWhileConnecting: Int

    /// A configuration for `host`:`port` with defaults suited to a rate limiter's Redis.
    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        connectTimeout: Duration = .milliseconds(500),
        commandTimeout: Duration = .milliseconds(250),
        backoff: RESPBackoff = RESPBackoff(),
        maximumQueuedWhileConnecting: Int = 1024
    ) {
        self.host = host
        self.port = port
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.backoff = backoff
        self.maximumQueuedWhileConnecting = maximumQueuedWhileConnecting
    }
}
