/// A point-in-time view of the data path, for `/status` and tests.
public struct ProxyStatus: Sendable, Codable, Equatable {
    /// Client connections currently open.
    public var openConnections: Int
    /// Requests received whose response has not completed yet.
    public var inFlightRequests: Int
    /// Requests completed since start.
    public var completedRequests: Int
    /// Addresses the listeners are bound to ("127.0.0.1:8080").
    public var listeners: [String]
    /// One entry per configured upstream pool, sorted by name.
    public var pools: [PoolStatus]

    public init(openConnections: Int, inFlightRequests: Int, completedRequests: Int, listeners: [String], pools: [PoolStatus]) {
        self.openConnections = openConnections
        self.inFlightRequests = inFlightRequests
        self.completedRequests = completedRequests
        self.listeners = listeners
        self.pools = pools
    }

    /// Health of one upstream pool.
    public struct PoolStatus: Sendable, Codable, Equatable {
        public var name: String
        public var backends: [BackendStatus]
        /// The concurrency limit, queue and shed counts; nil when the pool has no concurrency limit.
        public var shedding: PoolSheddingStatus?
        public init(name: String, backends: [BackendStatus], shedding: PoolSheddingStatus? = nil) {
            self.name = name
            self.backends = backends
            self.shedding = shedding
        }
    }

    /// Passive-health view of one backend.
    public struct BackendStatus: Sendable, Codable, Equatable {
        /// "host:port"
        public var address: String
        /// False while the backend is ejected after too many consecutive failures.
        public var healthy: Bool
        public var consecutiveFailures: Int
        /// Requests currently sent to it (over all event loops).
        public var inFlight: Int
        public init(address: String, healthy: Bool, consecutiveFailures: Int, inFlight: Int) {
            self.address = address
            self.healthy = healthy
            self.consecutiveFailures = consecutiveFailures
            self.inFlight = inFlight
        }
    }
}
