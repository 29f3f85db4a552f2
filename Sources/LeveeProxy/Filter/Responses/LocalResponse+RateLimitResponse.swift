import Levee
import NIOCore
import NIOHTTP1

extension LocalResponse {
    /// The proxy's form of a pure `RateLimitResponse`.
    public init(_ response: RateLimitResponse, close: Bool = false) {
        var headers = HTTPHeaders()
        for h in response.headers { headers.add(name: h.name, value: h.value) }
        var body = ByteBuffer()
        body.writeString(response.body)
        headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        self.init(status: HTTPResponseStatus(statusCode: response.status, reasonPhrase: response.reason),
                  headers: headers, body: body, close: close)
    }
}
