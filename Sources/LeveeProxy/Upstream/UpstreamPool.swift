/// A configured pool of interchangeable backends. Immutable; a reload builds a new one that
/// keeps the `Backend` objects (and so the health) of addresses that stay, and the concurrency
/// gate when its settings stay (so requests in flight across a reload are still counted).
final class UpstreamPool: Sendable {
    let configuration: UpstreamPoolConfiguration
    let backends: [Backend]
    /// Adaptive concurrency limit and class-ordered queue (`[upstream.NAME.concurrency]`); nil: none.
    let concurrency: ConcurrencyGate<EventLoopWaiter>?

    init(configuration: UpstreamPoolConfiguration, previous: [BackendAddress: Backend], previousPool: UpstreamPool? = nil) {
        self.configuration = configuration
        self.backends = configuration.backends.map { previous[$0] ?? Backend(address: $0) }
        if let settings = configuration.concurrency {
            if let old = previousPool?.concurrency, old.configuration == settings {
                self.concurrency = old
            } else {
                self.concurrency = ConcurrencyGate(pool: configuration.name, configuration: settings)
            }
        } else {
            self.concurrency = nil
        }
    }

    var name: String { configuration.name }
}
