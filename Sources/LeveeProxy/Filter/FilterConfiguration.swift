import Levee

/// Configuration of the flood filter (trusted networks, classes, rules, challenge, bans).
/// The default is empty: no rules, so everything is forwarded. `FilterConfiguration.decode(from:…)`
/// reads it from the `[filter]` table and the `[[rule]]` array of the TOML file (docs/filter.md).
public struct FilterConfiguration: Sendable, Equatable {
    /// Hops whose `X-Forwarded-For` / `Forwarded` / PROXY protocol address is believed.
    public var trustedProxies: [CIDR]
    /// Which forwarding header trusted hops use.
    public var clientHeader: ForwardingHeader
    /// How clients are classified.
    public var classes: ClassificationSettings
    /// Rules, in order (see docs/filter.md for precedence).
    public var rules: [FilterRule]
    public var challenge: ChallengeSettings
    public var bans: BanSettings
    /// Keys each rule's table holds (memory: 16 bytes per key per rule).
    public var tableCapacity: Int
    /// Keys the top-talker sketch tracks per event loop.
    public var topTalkers: Int
    /// The `[fleet]` table: the Redis of rules with `scope = "global"` (nil: no global rules).
    public var fleet: FleetSettings?

    public init(
        trustedProxies: [CIDR] = [], clientHeader: ForwardingHeader = .xForwardedFor,
        classes: ClassificationSettings = ClassificationSettings(), rules: [FilterRule] = [],
        challenge: ChallengeSettings = ChallengeSettings(), bans: BanSettings = BanSettings(),
        tableCapacity: Int = 1 << 16, topTalkers: Int = 64, fleet: FleetSettings? = nil
    ) {
        self.trustedProxies = trustedProxies
        self.clientHeader = clientHeader
        self.classes = classes
        self.rules = rules
        self.challenge = challenge
        self.bans = bans
        self.tableCapacity = tableCapacity
        self.topTalkers = topTalkers
        self.fleet = fleet
    }

    /// The quick form of `levee serve --limit "10/s burst 20"`: one per-address rule answered with 429.
    public static func quick(limit: Quota) -> FilterConfiguration {
        FilterConfiguration(rules: [FilterRule(name: "per-ip", key: .ip, quota: limit, action: .reject)])
    }
}

/// What makes a client trusted, known or suspicious.
public struct ClassificationSettings: Sendable, Equatable {
    /// Allow-listed client networks (class `trusted`).
    public var trustedNetworks: [CIDR]
    /// A request whose `trustedTokenHeader` equals one of these is `trusted` (credentials).
    public var trustedTokens: [String]
    public var trustedTokenHeader: String
    /// Networks whose clients are `known`.
    public var knownNetworks: [CIDR]
    /// Presenting any of these cookies (any value) makes a client `known`.
    public var knownCookies: [String]
    /// Presenting any of these headers makes a client `known`.
    public var knownHeaders: [String]
    /// How long a client stays `suspicious` after going over a limit.
    public var suspiciousFor: Duration

    public init(
        trustedNetworks: [CIDR] = [], trustedTokens: [String] = [], trustedTokenHeader: String = "x-levee-token",
        knownNetworks: [CIDR] = [], knownCookies: [String] = [], knownHeaders: [String] = [],
        suspiciousFor: Duration = .seconds(300)
    ) {
        self.trustedNetworks = trustedNetworks
        self.trustedTokens = trustedTokens
        self.trustedTokenHeader = trustedTokenHeader
        self.knownNetworks = knownNetworks
        self.knownCookies = knownCookies
        self.knownHeaders = knownHeaders
        self.suspiciousFor = suspiciousFor
    }
}

/// Automatic bans.
public struct BanSettings: Sendable, Equatable {
    /// Whether clients that keep exceeding are banned automatically (rules with `action = "ban"`
    /// ban regardless).
    public var enabled: Bool
    /// Successive ban durations; the last repeats.
    public var ladder: [Duration]
    /// Denials a client may collect before an automatic ban: `"10/min burst 20"` tolerates 20 at
    /// once and 10 more per minute.
    public var after: Quota
    /// A ban's level is remembered this long after it ends.
    public var forgetAfter: Duration
    /// Most bans (and ban histories) kept.
    public var capacity: Int

    public init(
        enabled: Bool = true, ladder: [Duration] = [.seconds(60), .seconds(600), .seconds(3600)],
        after: Quota = Quota(rate: 10, period: .seconds(60), burst: 20), forgetAfter: Duration = .seconds(86_400),
        capacity: Int = 100_000
    ) {
        self.enabled = enabled
        self.ladder = ladder
        self.after = after
        self.forgetAfter = forgetAfter
        self.capacity = capacity
    }
}
