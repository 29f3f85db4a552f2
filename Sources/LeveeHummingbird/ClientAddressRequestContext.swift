import Hummingbird
import NIOCore

/// A ready request context that knows the client's address, so that ``RateLimitMiddleware``
/// limits per client without any set-up. Use your own context conforming to
/// `RemoteAddressRequestContext` when you need more in it.
public struct ClientAddressRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The address of the connection's peer (nil when unknown, e.g. with the router test client).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = CoreRequestContextStorage(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
