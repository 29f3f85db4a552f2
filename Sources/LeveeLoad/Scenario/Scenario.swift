/// A whole load run: one target, a duration, traffic classes and the thresholds that judge it.
public struct Scenario: Sendable, Equatable {
    public var target: LoadTarget
    /// Run length in nanoseconds: every class stops at this offset at the latest.
    public var duration: Int64
    /// Event loops (threads); defaults to the number of cores.
    public var threads: Int
    /// A request without an answer after this long counts as a timeout error.
    public var timeout: Int64
    /// Total request cap across classes (split evenly over the clients), nil for none.
    public var maxRequests: Int?
    public var classes: [TrafficClass]
    public var thresholds: [Threshold]
    /// Speak HTTP/2 to the target: ALPN `h2` over TLS (an `https://` target only; `levee serve`
    /// has no cleartext h2c). Each connection carries up to `streams` concurrent requests.
    public var http2: Bool
    /// HTTP/2 only: concurrent streams (requests in flight) per connection.
    public var streams: Int

    /// A scenario from its parts (durations in nanoseconds).
    public init(target: LoadTarget, duration: Int64, threads: Int = System.coreCount, timeout: Int64 = 5_000_000_000,
                maxRequests: Int? = nil, classes: [TrafficClass], thresholds: [Threshold] = [],
                http2: Bool = false, streams: Int = 1) {
        self.target = target
        self.duration = duration
        self.threads = threads
        self.timeout = timeout
        self.maxRequests = maxRequests
        self.classes = classes
        self.thresholds = thresholds
        self.http2 = http2
        self.streams = streams
    }

    /// The application protocol named in reports: "h2" or "http/1.1".
    public var protocolName: String { http2 ? "h2" : "http/1.1" }

    /// Checks what the TOML and the command line cannot check alone.
    public func validate() throws(LoadError) {
        if classes.isEmpty { throw .invalidScenario("no traffic class") }
        if duration <= 0 { throw .invalidScenario("duration must be positive") }
        if threads < 1 { throw .invalidScenario("threads must be at least 1") }
        if streams < 1 || streams > 1000 { throw .invalidScenario("streams must be between 1 and 1000") }
        if http2 && !target.tls {
            throw .invalidScenario("http2 needs an https:// target: HTTP/2 is negotiated by ALPN over TLS (levee serve does not accept cleartext h2c)")
        }
        var names = Set<String>()
        for c in classes {
            if c.name.isEmpty || c.name == "total" || c.name.contains(".") {
                throw .invalidScenario("class name \"\(c.name)\" is empty, reserved or contains a dot")
            }
            if !names.insert(c.name).inserted { throw .invalidScenario("class \(c.name) is defined twice") }
            if c.connections < 1 { throw .invalidScenario("class \(c.name): connections must be at least 1") }
            if let r = c.rate, !(r > 0) { throw .invalidScenario("class \(c.name): rate must be positive") }
            if c.paths.isEmpty || c.methods.isEmpty { throw .invalidScenario("class \(c.name): paths and methods must not be empty") }
            if let stop = c.stop, stop <= c.start { throw .invalidScenario("class \(c.name): stop must come after start") }
            if (c.waveOn == nil) != (c.waveOff == nil) { throw .invalidScenario("class \(c.name): wave_on and wave_off go together") }
            if let on = c.waveOn, on <= 0 { throw .invalidScenario("class \(c.name): wave_on must be positive") }
            if c.identity != .sourceAddress && c.source == nil && c.announce == nil {
                throw .invalidScenario("class \(c.name): identity \(c.identity.rawValue) needs a source or announce range")
            }
            if c.identity == .sourceAddress && c.announce != nil {
                throw .invalidScenario("class \(c.name): announce needs identity x-forwarded-for, proxy-v1 or proxy-v2 (a source identity binds to source addresses)")
            }
            if target.tls && (c.identity == .proxyV1 || c.identity == .proxyV2) {
                throw .invalidScenario("class \(c.name): PROXY protocol identities cannot be used with an https:// target")
            }
            if target.tls, case .pcapReplay = c.profile {
                throw .invalidScenario("class \(c.name): pcap replay sends plain HTTP; use an http:// target")
            }
            if http2, let why = Self.http2Refusal(c) { throw .invalidScenario("class \(c.name): \(why) with http2") }
        }
        for t in thresholds where t.scope != "total" && !names.contains(t.scope) {
            throw .invalidThreshold(t.expression, "no class named \(t.scope)")
        }
    }
}

import NIOCore

extension Scenario {
    /// What an HTTP/2 run cannot do for a class (nil when the class can run over HTTP/2). These are
    /// HTTP/1.1 byte-level behaviours with no meaning on an HTTP/2 stream.
    static func http2Refusal(_ c: TrafficClass) -> String? {
        if c.identity == .proxyV1 || c.identity == .proxyV2 { return "PROXY protocol identities cannot be used" }
        if c.newConnectionPerRequest { return "new_connection (Connection: close) cannot be used" }
        switch c.profile {
        case .normal: return nil
        case .slowloris: return "the slowloris profile (trickled HTTP/1.1 header lines) cannot be used"
        case .slowRead: return "the slow-read profile cannot be used"
        case .pcapReplay: return "pcap replay (raw HTTP/1.1 bytes) cannot be used"
        }
    }
}
