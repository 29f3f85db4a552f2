/// A configured pool of interchangeable backends. Immutable; a reload builds a new one that
/// keeps the `Backend` objects (and so the health) of addresses that stay, and the concurrency
/// gate when its settings stay (so requests in flight across a reload are still counted).
final class UpstreamPool: Sendable {
    let configuration: UpstreamPoolConfiguration
    let backends: [Backend]
    /// Adaptive concurrency limit and class-ordered queue (`[upstream.NAME.concurrency]`); nil: none.
    let concurrency: ConcurrencyGate<EventLoopWaiter>?
    /// The client TLS context when some backend is `https://`: the context, or why it could not
    /// be built (a CA file that changed since the configuration was read); connections to TLS
    /// backends then fail with that error instead of going out unchecked.
    let tls: Result<UpstreamTLSContext, any Error>?

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
        self.tls = configuration.backends.contains(where: \.tls)
            ? Result { try UpstreamTLSContext(configuration: configuration.tls) } : nil
    }

    var name: String { configuration.name }
}
