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

    /// A scenario from its parts (durations in nanoseconds).
    public init(target: LoadTarget, duration: Int64, threads: Int = System.coreCount, timeout: Int64 = 5_000_000_000,
                maxRequests: Int? = nil, classes: [TrafficClass], thresholds: [Threshold] = []) {
        self.target = target
        self.duration = duration
        self.threads = threads
        self.timeout = timeout
        self.maxRequests = maxRequests
        self.classes = classes
        self.thresholds = thresholds
    }

    /// Checks what the TOML and the command line cannot check alone.
    public func validate() throws(LoadError) {
        if classes.isEmpty { throw .invalidScenario("no traffic class") }
        if duration <= 0 { throw .invalidScenario("duration must be positive") }
        if threads < 1 { throw .invalidScenario("threads must be at least 1") }
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
            if c.identity != .sourceAddress && c.source == nil {
                throw .invalidScenario("class \(c.name): identity \(c.identity.rawValue) needs a source range to announce")
            }
            if target.tls && (c.identity == .proxyV1 || c.identity == .proxyV2) {
                throw .invalidScenario("class \(c.name): PROXY protocol identities cannot be used with an https:// target")
            }
            if target.tls, case .pcapReplay = c.profile {
                throw .invalidScenario("class \(c.name): pcap replay sends plain HTTP; use an http:// target")
            }
        }
        for t in thresholds where t.scope != "total" && !names.contains(t.scope) {
            throw .invalidThreshold(t.expression, "no class named \(t.scope)")
        }
    }
}

import NIOCore
