/// A configured pool of interchangeable backends. Immutable; a reload builds a new one that
/// keeps the `Backend` objects (and so the health) of addresses that stay.
final class UpstreamPool: Sendable {
    let configuration: UpstreamPoolConfiguration
    let backends: [Backend]

    init(configuration: UpstreamPoolConfiguration, previous: [BackendAddress: Backend]) {
        self.configuration = configuration
        self.backends = configuration.backends.map { previous[$0] ?? Backend(address: $0) }
    }

    var name: String { configuration.name }
}
