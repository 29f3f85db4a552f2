/// The IETF rate-limit header fields (draft-ietf-httpapi-ratelimit-headers, structured-field
/// syntax) and `Retry-After`, as pure functions of plain values.
///
/// Pure Swift on purpose: the proxy, the Hummingbird middleware and the NIO handler (issue #9)
/// all format their fields here, so a client sees the same fields whichever one answered.
///
/// ```
/// RateLimit-Policy: "per-ip";q=40;w=2
/// RateLimit: "per-ip";r=0;t=2
/// Retry-After: 1
/// ```
public enum RateLimitHeaders {
    /// One policy as the fields describe it: `q` units per window of `w` seconds.
    public struct Policy: Sendable, Equatable {
        /// The policy's name, a structured-field string (`"per-ip"`).
        public var name: String
        /// Quota units the window allows (for a token bucket: its burst).
        public var quota: Int
        /// Window in whole seconds (for a token bucket: the time to refill the whole burst).
        public var windowSeconds: Int
        public init(name: String, quota: Int, windowSeconds: Int) {
            self.name = name
            self.quota = quota
            self.windowSeconds = windowSeconds
        }
    }

    /// The state of one policy after a decision.
    public struct Status: Sendable, Equatable {
        public var policy: Policy
        /// Units left right now.
        public var remaining: Int
        /// Time until the quota is fully available again.
        public var resetAfter: Duration
        public init(policy: Policy, remaining: Int, resetAfter: Duration) {
            self.policy = policy
            self.remaining = remaining
            self.resetAfter = resetAfter
        }
    }

    public static let policyField = "RateLimit-Policy"
    public static let limitField = "RateLimit"
    public static let retryAfterField = "Retry-After"

    /// `"per-ip";q=100;w=60, "per-subnet";q=1000;w=60`
    public static func policyValue(_ policies: [Policy]) -> String {
        var out = ""
        for (i, p) in policies.enumerated() {
            if i > 0 { out += ", " }
            out += sfString(p.name) + ";q=" + String(max(0, p.quota)) + ";w=" + String(max(1, p.windowSeconds))
        }
        return out
    }

    /// `"per-ip";r=0;t=12` (t = whole seconds until the quota is full again, rounded up).
    public static func limitValue(_ statuses: [Status]) -> String {
        var out = ""
        for (i, s) in statuses.enumerated() {
            if i > 0 { out += ", " }
            out += sfString(s.policy.name) + ";r=" + String(max(0, s.remaining)) + ";t=" + String(ceilSeconds(s.resetAfter))
        }
        return out
    }

    /// Both fields, in the order they are usually sent.
    public static func fields(_ statuses: [Status]) -> [(name: String, value: String)] {
        guard !statuses.isEmpty else { return [] }
        return [(policyField, policyValue(statuses.map(\.policy))), (limitField, limitValue(statuses))]
    }

    /// `Retry-After` in whole seconds, rounded up and at least 1 (a 0 would invite a busy loop).
    public static func retryAfterValue(_ retryAfter: Duration) -> String {
        String(max(1, ceilSeconds(retryAfter)))
    }

    /// Whole seconds, rounded up; negative durations count as zero.
    public static func ceilSeconds(_ d: Duration) -> Int64 {
        let (seconds, attoseconds) = d.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        return attoseconds > 0 ? seconds + 1 : seconds
    }

    /// The window of a token bucket of `burst` refilled at `rate` per `period`: the time to refill
    /// the whole burst from empty, in whole seconds rounded up (at least 1).
    public static func windowSeconds(burst: Int, rate: Int, period: Duration) -> Int {
        guard rate > 0 else { return 1 }
        let total = period * burst / rate
        return Int(max(1, ceilSeconds(total)))
    }

    /// An RFC 8941 sf-string: printable ASCII in quotes, `"` and `\` escaped; anything else dropped.
    public static func sfString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars where u.value >= 0x20 && u.value < 0x7F {
            if u == "\"" || u == "\\" { out += "\\" }
            out.unicodeScalars.append(u)
        }
        return out + "\""
    }
}
