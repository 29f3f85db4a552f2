import Levee
import LeveeRESP
import LeveeRedis
import NIOSSL

/// The `[fleet]` table: where the Redis that holds the fleet's global quotas is, and the lease
/// defaults of rules with `scope = "global"` (docs/fleet.md).
///
/// ```toml
/// [fleet]
/// redis = "127.0.0.1:6379"
/// password_env = "LEVEE_REDIS_PASSWORD"   # AUTH on connect (or `password = "…"`); optional
/// username = "levee"     # an ACL user (Redis 6+); optional, needs a password
/// database = 0           # SELECT on connect when not 0
/// tls = true             # TLS to Redis (its tls-port, managed Redis); optional
/// tls_ca = "redis-ca.pem"  # trust these CAs instead of the system's; optional
/// tls_server_name = "redis.internal"  # the name the certificate must carry; optional
/// key_prefix = "levee:"
/// connect_timeout = "500ms"
/// command_timeout = "250ms"
/// lease = 10             # default lease per global rule (default: a tenth of each rule's burst)
/// credit = 1
/// fail = "closed"        # or "open"
/// fail_retry = "200ms"   # a key waits this long after a failed Redis call before asking again
/// ```
public struct FleetSettings: Sendable, Equatable {
    /// The Redis server's host (an address or a name).
    public var host: String
    public var port: Int
    /// Sent with `AUTH` on connect (from `password` or the variable `password_env` names).
    public var password: String?
    /// The ACL user `password` belongs to (nil: the default user).
    public var username: String?
    /// The Redis logical database (`SELECT`), 0 by default.
    public var database: Int
    /// Speak TLS to Redis.
    public var tls: Bool
    /// PEM file of the CAs to trust for Redis's certificate (nil: the system's trust roots).
    public var tlsCA: String?
    /// The name Redis's certificate must carry (nil: the host when it is a name, else its address).
    public var tlsServerName: String?
    /// Prepended to every Redis key (`levee:<rule>:<client key>`).
    public var keyPrefix: String
    public var connectTimeout: Duration
    /// How long a lease request may wait for Redis before it counts as failed.
    public var commandTimeout: Duration
    /// Default lease size of global rules (nil: a tenth of each rule's burst).
    public var leaseSize: Int?
    /// Default initial credit of global rules.
    public var initialCredit: Int
    /// Default fail mode of global rules.
    public var failMode: FleetFailChoice
    /// After a failed Redis call, a key waits this long before asking again; also the
    /// `Retry-After` of fail-closed denials.
    public var failRetry: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 6379, keyPrefix: String = "levee:",
        connectTimeout: Duration = .milliseconds(500), commandTimeout: Duration = .milliseconds(250),
        leaseSize: Int? = nil, initialCredit: Int = 1, failMode: FleetFailChoice = .closed,
        failRetry: Duration = .milliseconds(200), password: String? = nil, username: String? = nil, database: Int = 0,
        tls: Bool = false, tlsCA: String? = nil, tlsServerName: String? = nil
    ) {
        self.host = host
        self.port = port
        self.password = password
        self.username = username
        self.database = database
        self.tls = tls
        self.tlsCA = tlsCA
        self.tlsServerName = tlsServerName
        self.keyPrefix = keyPrefix
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.leaseSize = leaseSize
        self.initialCredit = initialCredit
        self.failMode = failMode
        self.failRetry = failRetry
    }

    /// The Redis client configuration these settings describe.
    public var clientConfiguration: RESPClientConfiguration {
        var tlsConfiguration: TLSConfiguration?
        if tls {
            var client = TLSConfiguration.makeClientConfiguration()
            if let tlsCA { client.trustRoots = .file(tlsCA) }
            tlsConfiguration = client
        }
        return RESPClientConfiguration(
            host: host, port: port, connectTimeout: connectTimeout, commandTimeout: commandTimeout,
            password: password, username: username, database: database, tls: tlsConfiguration, tlsServerName: tlsServerName)
    }

    /// The lease rule of `rule` (which must have a limit and `scope = "global"`): its own options
    /// over these defaults. Nil for a local rule or one without a limit.
    public func fleetRule(for rule: FilterRule) -> FleetRule? {
        guard case .global(let options) = rule.scope, let quota = rule.quota else { return nil }
        let failMode: FleetFailMode
        switch options.failMode ?? self.failMode {
        case .closed: failMode = .closed
        case .open: failMode = .open(fallback: options.failOpenLimit ?? quota)
        }
        // A default lease never below the rule's cost: a request costing more than a lease could never pass.
        let lease = options.leaseSize ?? max(leaseSize ?? quota.burst / 10, rule.cost)
        return FleetRule(
            name: rule.name, quota: quota, leaseSize: lease,
            initialCredit: options.initialCredit ?? initialCredit, failMode: failMode, failureRetryInterval: failRetry)
    }
}
