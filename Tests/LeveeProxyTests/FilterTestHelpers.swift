import NIOCore
import NIOHTTP1

@testable import LeveeProxy

/// Builds the request context the pipeline would pass to the filter.
func filterRequest(
    _ uri: String = "/", method: HTTPMethod = .GET, peer: String = "198.51.100.1", headers: [(String, String)] = [],
    route: String = "default", proxyProtocol: String? = nil
) -> RequestContext {
    var h = HTTPHeaders(headers)
    if !h.contains(name: "host") { h.add(name: "Host", value: "example.com") }
    return RequestContext(
        head: HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: h),
        socketAddress: try! SocketAddress(ipAddress: peer, port: 40000),
        proxyProtocolSource: proxyProtocol.map { try! SocketAddress(ipAddress: $0, port: 40001) }, routeName: route)
}

extension FilterVerdict {
    /// The local response, if the verdict answers locally (respond or tarpit).
    var response: LocalResponse? {
        switch self {
        case .respond(let r): return r
        case .tarpit(_, let r): return r
        default: return nil
        }
    }

    var status: Int? { response.map { Int($0.status.code) } }

    var isForward: Bool {
        if case .forward = self { return true }
        return false
    }

    var forwardHeaders: HTTPHeaders? {
        switch self {
        case .forward(let h, _): return h
        case .forwardAfter(_, let h, _): return h
        default: return nil
        }
    }

    var delay: TimeAmount? {
        if case .forwardAfter(let d, _, _) = self { return d }
        return nil
    }
}
