import NIOSSL

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
    /// Sent with `AUTH` on every new connection before any command (Redis `requirepass`, or an
    /// ACL user's password with `username`). Nil: no `AUTH`.
    public var password: String?
    /// The ACL user (Redis 6+) that `password` belongs to; nil authenticates the default user.
    public var username: String?
    /// The logical database chosen with `SELECT` on every new connection (0: Redis's default, no `SELECT`).
    public var database: Int
    /// Speak TLS to the server (Redis `tls-port`, managed Redis with in-transit encryption) with
    /// this client configuration (trust roots, versions); nil: plain TCP.
    public var tls: TLSConfiguration?
    /// The name the server's certificate must carry (and SNI); nil: `host` when it is a name, else
    /// the certificate is checked against the address.
    public var tlsServerName: String?

    /// A configuration for `host`:`port` with defaults suited to a rate limiter's Redis.
    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        connectTimeout: Duration = .milliseconds(500),
        commandTimeout: Duration = .milliseconds(250),
        backoff: RESPBackoff = RESPBackoff(),
        maximumQueuedWhileConnecting: Int = 1024,
        password: String? = nil,
        username: String? = nil,
        database: Int = 0,
        tls: TLSConfiguration? = nil,
        tlsServerName: String? = nil
    ) {
        self.host = host
        self.port = port
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.backoff = backoff
        self.maximumQueuedWhileConnecting = maximumQueuedWhileConnecting
        self.password = password
        self.username = username
        self.database = database
        self.tls = tls
        self.tlsServerName = tlsServerName
    }

    /// The commands every new connection sends before any other (`AUTH`, then `SELECT`), each
    /// with its name for error messages.
    var handshake: [(name: String, command: RESPValue)] {
        var commands: [(name: String, command: RESPValue)] = []
        if let password {
            commands.append(("AUTH", .command(username.map { ["AUTH", $0, password] } ?? ["AUTH", password])))
        }
        if database != 0 { commands.append(("SELECT", .command(["SELECT", String(database)]))) }
        return commands
    }
}

extension RESPClientConfiguration: CustomStringConvertible {
    /// For logs: the password is never shown.
    public var description: String {
        var text = tls == nil ? "redis \(host):\(port)" : "rediss \(host):\(port)"
        if let username { text += " user \(username)" }
        if password != nil { text += " (password set)" }
        if database != 0 { text += " db \(database)" }
        return text
    }
}
