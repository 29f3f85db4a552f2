import Foundation
import NIOCore
import NIOHTTP1

/// An answer of the admin listener.
public struct AdminResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus = .ok, contentType: String, body: ByteBuffer) {
        self.status = status
        self.headers = ["content-type": contentType]
        self.body = body
    }

    /// Plain text (a trailing newline is added when missing).
    public static func text(_ text: String, status: HTTPResponseStatus = .ok) -> AdminResponse {
        AdminResponse(
            status: status, contentType: "text/plain; charset=utf-8",
            body: ByteBuffer(string: text.hasSuffix("\n") ? text : text + "\n"))
    }

    /// A JSON document (sorted keys, pretty-printed: operators read these with curl).
    public static func json<Value: Encodable>(_ value: Value, status: HTTPResponseStatus = .ok) -> AdminResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            var data = try encoder.encode(value)
            data.append(UInt8(ascii: "\n"))
            return AdminResponse(status: status, contentType: "application/json", body: ByteBuffer(bytes: data))
        } catch {
            return .error(.internalServerError, "cannot encode response: \(error)")
        }
    }

    /// `{"error": "..."}` with `status`.
    public static func error(_ status: HTTPResponseStatus, _ message: String) -> AdminResponse {
        json(ErrorBody(error: message), status: status)
    }

    private struct ErrorBody: Encodable { var error: String }
}
