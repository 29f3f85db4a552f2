import NIOCore
import NIOHTTP1
import NIOSSL

/// The immutable, pre-computed form of a traffic class for one run: absolute times, the target
/// address, pre-encoded requests, per-client quotas. Shared read-only by every client of the class.
final class ClassPlan: Sendable {
    /// One request of a capture replay: when (offset from the class start, already scaled) and what.
    struct ReplayItem: Sendable {
        var offset: Int64
        var bytes: ByteBuffer
        var isHead: Bool
    }

    let index: Int
    let trafficClass: TrafficClass
    let target: SocketAddress
    let targetIP: String
    let encoder: RequestEncoder
    /// Requests for every (method, path) pair, encoded once.
    let templates: [ByteBuffer]
    let templateIsHead: [Bool]
    let replay: [ReplayItem]?
    let runStart: Int64
    /// Absolute clock readings (ns) of the class's start and stop.
    let start: Int64
    let stop: Int64
    /// Open loop: time between two requests of one client (ns); 0 for closed loop.
    let interval: Int64
    let timeout: Int64
    /// Requests each client may send (the class's cap split evenly).
    let quotas: [Int]
    /// Set for an `https://` target: each connection starts with a TLS handshake.
    let tlsContext: NIOSSLContext?
    /// SNI sent in the handshake (nil for an address literal).
    let serverName: String?
    /// HTTP/2 run: each client is one connection carrying up to `streams` requests at once.
    let http2: Bool
    let streams: Int
    /// HTTP/2: the templates as request heads (same order as `templates`) and the class's body.
    let heads: [HTTPRequestHead]
    let body: ByteBuffer?

    /// Which request a client sends next: a pre-built template or one built for this send.
    enum RequestChoice {
        case template(Int)
        case built(method: String, path: String, forwardedFor: String?)
    }

    init(index: Int, trafficClass c: TrafficClass, scenario: Scenario, target: SocketAddress, runStart: Int64,
         replay: [ReplayItem]?, globalQuota: Int?, tlsContext: NIOSSLContext? = nil) {
        self.index = index
        self.tlsContext = tlsContext
        let host = scenario.target.host
        serverName = Self.serverName(host)
        trafficClass = c
        self.target = target
        targetIP = target.ipAddress ?? "127.0.0.1"
        let encoder = RequestEncoder(hostHeader: scenario.target.hostHeader, trafficClass: c)
        self.encoder = encoder
        var templates: [ByteBuffer] = []
        var isHead: [Bool] = []
        for path in c.paths {
            for method in c.methods {
                templates.append(encoder.encode(method: method, path: path))
                isHead.append(method == "HEAD")
            }
        }
        self.templates = templates
        templateIsHead = isHead
        http2 = scenario.http2
        streams = scenario.http2 ? scenario.streams : 1
        heads = scenario.http2 ? c.paths.flatMap { path in c.methods.map { encoder.head(method: $0, path: path) } } : []
        body = encoder.bodyBuffer
        self.replay = replay
        self.runStart = runStart
        start = runStart + c.start
        stop = runStart + min(c.stop ?? scenario.duration, scenario.duration)
        if let rate = c.rate {
            interval = max(Int64((Double(c.connections) * 1e9 / rate).rounded()), 1)
        } else {
            interval = 0
        }
        switch c.profile {
        case .slowloris(_, let hold): timeout = hold + scenario.timeout
        case .slowRead: timeout = .max / 4  // a slow reader holds its response until the run ends
        default: timeout = scenario.timeout
        }
        var cap = c.maxRequests
        if let g = globalQuota { cap = min(cap ?? .max, g) }
        if let replay { cap = min(cap ?? .max, replay.count) }
        if let cap {
            let n = c.connections
            quotas = (0..<n).map { cap / n + ($0 < cap % n ? 1 : 0) }
        } else {
            quotas = Array(repeating: .max, count: c.connections)
        }
    }

    /// SNI for `host`: none for an address literal.
    static func serverName(_ host: String) -> String? {
        (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }

    /// The random seed of client `client` of this class: distinct per client and per class.
    func seed(forClient client: Int) -> UInt64 {
        0x9E37_79B9_7F4A_7C15 &* UInt64(client + 1) &+ UInt64(index)
    }

    /// Where a client's next connection comes from, advancing its place in the source range: the
    /// address to bind to (a source-address identity) or the one to announce in
    /// `X-Forwarded-For` / a PROXY header (the other identities). Both nil without a source range.
    func nextSource(_ sourceIndex: inout Int) -> (bind: SocketAddress?, announce: String?) {
        if let announce = trafficClass.announce, trafficClass.identity != .sourceAddress {
            let address = announce.addressText(sourceIndex)
            sourceIndex += trafficClass.connections
            return (nil, address)
        }
        guard let source = trafficClass.source else { return (nil, nil) }
        let address = source.addressText(sourceIndex)
        sourceIndex += trafficClass.connections
        guard trafficClass.identity == .sourceAddress else { return (nil, address) }
        return (try? SocketAddress(ipAddress: address, port: 0), nil)
    }

    /// When client `client` sends its first request: the clients' first requests are spread
    /// evenly over one interval (like wrk2's per-connection phase).
    func firstArrival(forClient client: Int) -> Int64 {
        start + (interval > 0 ? Int64(client) * interval / Int64(trafficClass.connections) : 0)
    }

    /// The next request of a client (not for replays): random method and path, or an `X-Forwarded-For`
    /// identity, need a request built per send; otherwise the templates go round in turn.
    /// `forwardedFor` is only evaluated for that identity.
    func choose(counter: inout Int, rng: inout UInt64, forwardedFor: () -> String?) -> RequestChoice {
        let c = trafficClass
        if c.randomPaths || c.identity == .forwardedFor {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            let method = c.methods[Int(rng % UInt64(c.methods.count))]
            let path = c.randomPaths ? "/" + String(rng, radix: 16) : c.paths[counter % c.paths.count]
            counter += 1
            return .built(method: method, path: path, forwardedFor: c.identity == .forwardedFor ? forwardedFor() : nil)
        }
        let i = counter % templates.count
        counter += 1
        return .template(i)
    }

    /// The first instant at or after `t` when the class is active (waves switch it on and off).
    func activeTime(_ t: Int64) -> Int64 {
        let t = max(t, start)
        guard let on = trafficClass.waveOn, let off = trafficClass.waveOff, off > 0 else { return t }
        let period = on + off
        let phase = (t - start) % period
        return phase < on ? t : t + (period - phase)
    }
}

/// One simulated client's place in its class's plan, kept by both load workers (HTTP/1.1 and
/// HTTP/2): requests left, the request counter and random state, the next source address and the
/// one announced, and the next open-loop arrival.
struct ClientCursor {
    var quota: Int
    var counter: Int
    var rng: UInt64
    /// Which address of the source range the next connection uses.
    var sourceIndex: Int
    /// The address announced (`X-Forwarded-For` or PROXY header) for the current connection.
    var announced: String?
    var nextIntended: Int64

    init(plan: ClassPlan, client index: Int) {
        quota = plan.quotas[index]
        counter = index
        rng = plan.seed(forClient: index)
        sourceIndex = index
        nextIntended = plan.firstArrival(forClient: index)
    }

    /// The next request to send (see `ClassPlan.choose`).
    mutating func nextChoice(in plan: ClassPlan) -> ClassPlan.RequestChoice {
        let source = plan.trafficClass.source
        let (announced, sourceIndex) = (self.announced, self.sourceIndex)
        return plan.choose(counter: &counter, rng: &rng, forwardedFor: { announced ?? source?.addressText(sourceIndex) })
    }

    /// Where the next connection comes from (see `ClassPlan.nextSource`): returns the address to
    /// bind to, and keeps the one to announce.
    mutating func nextSource(in plan: ClassPlan) -> SocketAddress? {
        let (bindAddress, announce) = plan.nextSource(&sourceIndex)
        if let announce { announced = announce }
        return bindAddress
    }
}
