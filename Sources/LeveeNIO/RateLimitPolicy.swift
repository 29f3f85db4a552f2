import Levee

/// One named quota an HTTP adapter enforces per key: `"per-client"` at `100/min burst 20`.
///
/// The name appears in the `RateLimit-Policy` and `RateLimit` response fields and in the
/// problem body of a 429, exactly as the proxy writes them.
public struct RateLimitPolicy: Sendable, Hashable {
    /// The policy's name in the rate-limit fields (printable ASCII; anything else is dropped there).
    public var name: String
    /// The quota each key gets.
    public var quota: Quota

    /// A policy named `name` enforcing `quota`.
    public init(name: String, quota: Quota) {
        self.name = name
        self.quota = quota
    }

    /// A policy named `name` enforcing the quota written as `text` (`"100/min burst 20"`),
    /// in the same syntax as the proxy's configuration.
    public init(name: String, parsing text: String) throws(QuotaParseError) {
        self.init(name: name, quota: try Quota(parsing: text))
    }
}
