import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LoadWorker {
    /// On loopback the TCP handshake completes inside connect(2). Handing NIO the already connected socket
    /// skips its connect machinery (connect promise, timeout task, a writability round trip), which is most
    /// of the user-space cost of a new connection. Returns nil when the socket is not connected at once
    /// (the caller then uses the ordinary bootstrap), a failed future when the connection was refused.
    func fastConnect(bindTo source: SocketAddress?) -> EventLoopFuture<any Channel>? {
        #if os(Linux)
        guard case .v4(let target) = plan.target else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        if case .v4(let local)? = source {
            var address = local.address
            let r = withUnsafePointer(to: &address) {  // unsafe: sockaddr_in viewed as sockaddr for bind(2), inside this call only
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if r != 0 {
                close(fd)
                return nil
            }
        }
        var address = target.address
        let r = withUnsafePointer(to: &address) {  // unsafe: sockaddr_in viewed as sockaddr for connect(2), inside this call only
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 {
            let code = errno
            guard code == EINPROGRESS else {
                close(fd)
                return eventLoop.makeFailedFuture(IOError(errnoCode: code, reason: "connect"))
            }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&p, 1, 0) == 1, p.revents & Int16(POLLOUT) != 0 else {
                close(fd)  // still in progress: not loopback-fast; let NIO do it the ordinary way
                return nil
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                close(fd)
                return eventLoop.makeFailedFuture(IOError(errnoCode: error, reason: "connect"))
            }
        }
        return baseBootstrap.withConnectedSocket(fd)
        #else
        return nil  // elsewhere NIO's ordinary connect path is used
        #endif
    }
}
