/// One named kind of traffic in a scenario: legitimate users, a flood, slowloris, a replay …
public struct TrafficClass: Sendable, Equatable {
    /// How a simulated client announces who it is to the target.
    public enum Identity: String, Sendable, Equatable, CaseIterable {
        /// The connection's own source address (bound from `source`).
        case sourceAddress = "source"
        /// An `X-Forwarded-For` header carrying the client's address (for a proxy behind a load balancer).
        case forwardedFor = "x-forwarded-for"
        /// A PROXY protocol v1 (text) header at the start of each connection.
        case proxyV1 = "proxy-v1"
        /// A PROXY protocol v2 (binary) header at the start of each connection.
        case proxyV2 = "proxy-v2"
    }

    /// What the class's requests should meet at a correctly configured filter.
    public enum Expectation: String, Sendable, Equatable {
        case served, blocked
        /// No expectation: the class is not counted in the filter outcome.
        case any
    }

    /// The shape of the traffic each client sends.
    public enum Profile: Sendable, Equatable {
        /// Ordinary requests (also a flood, when many addresses and a high rate are given).
        case normal
        /// Headers trickled one line every `interval`, the request completed after `hold`.
        case slowloris(interval: Int64, hold: Int64)
        /// A tiny receive window, reading `readSize` bytes every `interval`.
        case slowRead(interval: Int64, readSize: Int)
        /// Replay of the HTTP requests found in a pcap/pcapng capture, with timing scaled by `speed`.
        case pcapReplay(file: String, speed: Double, port: Int?)
    }

    public var name: String
    /// Requests per second (open loop); nil means closed loop with `connections` clients.
    public var rate: Double?
    /// Concurrent connections (simulated clients).
    public var connections: Int
    public var paths: [String]
    /// Each request goes to `/<random hex>` instead of `paths`.
    public var randomPaths: Bool
    public var methods: [String]
    public var headers: [(String, String)]
    public var body: String?
    /// Extra headers `X-Levee-Pad-N` added to each request (very many headers).
    public var extraHeaderCount: Int
    /// Size in bytes of one extra header value `X-Levee-Big` (oversized headers); 0 for none.
    public var oversizedHeaderBytes: Int
    public var source: SourceAddressRange?
    /// Addresses to announce with the `x-forwarded-for` and PROXY identities instead of `source`'s:
    /// any IPv4 or IPv6 range (nothing is bound to them).
    public var announce: AnnouncedAddressRange?
    public var identity: Identity
    /// Offset of the class's start from the run's start, in nanoseconds.
    public var start: Int64
    /// Offset of its stop (nil: the run's end).
    public var stop: Int64?
    /// Waves: the class is active `waveOn` then idle `waveOff`, repeatedly (both nil: always on).
    public var waveOn: Int64?
    public var waveOff: Int64?
    /// One request per connection (`Connection: close`), to measure new connections per second.
    public var newConnectionPerRequest: Bool
    public var expect: Expectation
    public var profile: Profile
    /// Maximum requests this class sends (nil: unbounded except by time).
    public var maxRequests: Int?

    /// A class with the defaults: one closed-loop client sending `GET /`.
    public init(name: String) {
        self.name = name
        rate = nil
        connections = 1
        paths = ["/"]
        randomPaths = false
        methods = ["GET"]
        headers = []
        body = nil
        extraHeaderCount = 0
        oversizedHeaderBytes = 0
        source = nil
        identity = .sourceAddress
        start = 0
        stop = nil
        waveOn = nil
        waveOff = nil
        newConnectionPerRequest = false
        expect = .any
        profile = .normal
        maxRequests = nil
    }

    /// Field-by-field equality (headers compared in order).
    public static func == (a: TrafficClass, b: TrafficClass) -> Bool {
        a.name == b.name && a.rate == b.rate && a.connections == b.connections && a.paths == b.paths
            && a.randomPaths == b.randomPaths && a.methods == b.methods
            && a.headers.map { $0.0 + ":" + $0.1 } == b.headers.map { $0.0 + ":" + $0.1 }
            && a.body == b.body && a.extraHeaderCount == b.extraHeaderCount
            && a.oversizedHeaderBytes == b.oversizedHeaderBytes && a.source == b.source
            && a.identity == b.identity && a.start == b.start && a.stop == b.stop && a.waveOn == b.waveOn
            && a.waveOff == b.waveOff && a.newConnectionPerRequest == b.newConnectionPerRequest
            && a.expect == b.expect && a.profile == b.profile && a.maxRequests == b.maxRequests
    }
}
