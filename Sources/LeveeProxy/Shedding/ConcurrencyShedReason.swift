/// Why an upstream pool's concurrency gate shed a request (the `reason` label of
/// `levee_requests_shed_total`; the degradation tiers use `tier` on the same metric).
public enum ConcurrencyShedReason: String, Sendable, CaseIterable, Codable {
    /// Refused on arrival (limit reached and the queue full of clients at least as trusted), or
    /// evicted from the queue by a more trusted arrival.
    case concurrency
    /// Waited in the queue for the whole `queue_timeout`.
    case queueTimeout = "queue-timeout"

    var index: Int {
        switch self {
        case .concurrency: 0
        case .queueTimeout: 1
        }
    }
}
