/// The document `GET /status` answers (JSON, keys in snake_case).
public struct StatusReport: Sendable, Encodable {
    public var version: String
    public var uptimeSeconds: Double
    /// The configuration file, or nil when started from command-line flags.
    public var configFile: String?
    /// Bound proxy listeners, admin and demo addresses.
    public var listeners: [String]
    public var admin: String?
    public var demoBackend: String?
    public var reloads: ReloadCounts
    /// The data path: connections, requests in flight, pools and backend health.
    public var proxy: ProxyStatus
    /// Sections added by other parts (the flood filter's tier and top talkers, ...).
    public var sections: [String: any Encodable & Sendable]

    /// Reload counters and the outcome of the last one.
    public struct ReloadCounts: Sendable, Encodable {
        public var applied: Int
        public var rejected: Int
        public var last: ReloadOutcome?
    }

    private struct DynamicKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        try container.encode(version, forKey: DynamicKey("version"))
        try container.encode(uptimeSeconds, forKey: DynamicKey("uptime_seconds"))
        try container.encode(configFile, forKey: DynamicKey("config_file"))
        try container.encode(listeners, forKey: DynamicKey("listeners"))
        try container.encode(admin, forKey: DynamicKey("admin"))
        try container.encode(demoBackend, forKey: DynamicKey("demo_backend"))
        try container.encode(reloads, forKey: DynamicKey("reloads"))
        try container.encode(proxy, forKey: DynamicKey("proxy"))
        for (name, section) in sections { try container.encode(section, forKey: DynamicKey(name)) }
    }
}
