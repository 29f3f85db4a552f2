import NIOHTTP1

/// Checks on a decoded request head that NIO's parser does not make or that Levee wants
/// whatever the parser's leniency: request smuggling shapes and size limits.
enum RequestValidation {
    /// Why a request is refused; the connection is closed after the answer.
    struct Failure: Error, Equatable {
        var status: HTTPResponseStatus
        var reason: String
    }

    /// How the request body is framed, once the head is accepted.
    enum BodyFraming: Equatable {
        case none
        case contentLength(Int)
        case chunked
    }

    static func validate(_ head: HTTPRequestHead, limits: LimitsConfiguration) -> Result<BodyFraming, Failure> {
        // Request line: method SP target SP version CRLF.
        if head.uri.utf8.count + head.method.rawValue.utf8.count + 11 > limits.maxRequestLineBytes {
            return .failure(Failure(status: .uriTooLong, reason: "request line too long"))
        }
        if head.headers.count > limits.maxHeaderCount {
            return .failure(Failure(status: .requestHeaderFieldsTooLarge, reason: "too many header fields"))
        }
        // One pass over the fields (no per-name scans, no arrays) for the sizes and `Host`.
        var headerBytes = 0
        var hostCount = 0
        for header in head.headers {
            let nameBytes = header.name.utf8.count
            headerBytes += nameBytes + header.value.utf8.count + 4
            if nameBytes == 4 && header.name.isFieldName("host") { hostCount += 1 }
        }
        if headerBytes > limits.maxHeaderBytes {
            return .failure(Failure(status: .requestHeaderFieldsTooLarge, reason: "header block too large"))
        }
        if head.method == .CONNECT {
            // Tunnels are not proxied (no CONNECT, no Upgrade): refuse rather than mis-frame.
            return .failure(Failure(status: .methodNotAllowed, reason: "CONNECT is not supported"))
        }
        if head.version.major != 1 {
            return .failure(Failure(status: .httpVersionNotSupported, reason: "HTTP version not supported"))
        }
        if head.version.minor >= 1 && hostCount == 0 {
            return .failure(Failure(status: .badRequest, reason: "missing Host"))
        }
        if hostCount > 1 {
            return .failure(Failure(status: .badRequest, reason: "several Host fields"))
        }
        return framing(of: head)
    }

    /// How the body is framed, or why the framing is refused (the request smuggling shapes):
    /// the one judgement of it, used here and by `HTTP1RequestParser` to know where a body ends.
    static func framing(of head: HTTPRequestHead) -> Result<BodyFraming, Failure> {
        var lengthCount = 0
        var firstLength: String?
        var hasTransferEncoding = false
        for header in head.headers {
            switch header.name.utf8.count {
            case 14 where header.name.isFieldName("content-length"):
                lengthCount += 1
                if firstLength == nil { firstLength = header.value }
            case 17 where header.name.isFieldName("transfer-encoding"): hasTransferEncoding = true
            default: break
            }
        }
        if hasTransferEncoding {
            // Both framings at once is the classic smuggling shape (RFC 9112 §6.1): refuse it.
            if lengthCount > 0 {
                return .failure(Failure(status: .badRequest, reason: "both Content-Length and Transfer-Encoding"))
            }
            if head.version.minor == 0 {
                return .failure(Failure(status: .badRequest, reason: "Transfer-Encoding in HTTP/1.0"))
            }
            guard head.headers.isChunked else {
                return .failure(Failure(status: .badRequest, reason: "Transfer-Encoding without final chunked"))
            }
            return .success(.chunked)
        }
        guard let first = firstLength else { return .success(.none) }
        // One field, one value: a repeated Content-Length (equal or not) is refused.
        guard lengthCount == 1, !first.contains(","), let length = Int(first), length >= 0,
            first.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 })
        else {
            return .failure(Failure(status: .badRequest, reason: "invalid or repeated Content-Length"))
        }
        return .success(length == 0 ? .none : .contentLength(length))
    }
}
