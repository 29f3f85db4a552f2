import Levee
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension LimiterKey {
    /// The key of a peer's IP address (the port is ignored); nil for a Unix domain socket.
    ///
    /// Reads the address bytes out of the `sockaddr` directly: no string, no allocation.
    /// An IPv4-mapped IPv6 peer gives the same key as the plain IPv4 one.
    @inlinable
    public init?(socketAddress: SocketAddress) {
        switch socketAddress {
        case .v4(let address):
            self.init(ipv4: UInt32(bigEndian: address.address.sin_addr.s_addr))
        case .v6(let address):
            var bytes = address.address.sin6_addr
            self = withUnsafeBytes(of: &bytes) { LimiterKey(ipv6Bytes: $0) }
        case .unixDomainSocket:
            return nil
        }
    }
}
