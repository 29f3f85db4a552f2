/// A locally generated error response (429, 403, 503) as plain values: status, fields, body.
///
/// Pure Swift, so that the proxy (`LocalResponse`) and the Hummingbird middleware (issue #9)
/// build identical answers. The body is RFC 9457 `application/problem+json`, or a short HTML
/// page when the client's `Accept` prefers `text/html`.
public struct RateLimitResponse: Sendable, Equatable {
    public var status: Int
    public var reason: String
    public var headers: [Header]
    public var body: String

    /// One header field.
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(status: Int, reason: String, headers: [Header], body: String) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    /// 429 Too Many Requests with `Retry-After` and the rate-limit fields of the denying policies.
    public static func tooManyRequests(
        retryAfter: Duration, statuses: [RateLimitHeaders.Status], accept: String?, detail: String? = nil
    ) -> RateLimitResponse {
        let seconds = RateLimitHeaders.retryAfterValue(retryAfter)
        var headers = [Header(RateLimitHeaders.retryAfterField, seconds)]
        for f in RateLimitHeaders.fields(statuses) { headers.append(Header(f.name, f.value)) }
        let text = detail ?? "Too many requests. Retry in \(seconds) s."
        return make(status: 429, reason: "Too Many Requests", headers: headers, detail: text, accept: accept,
                    extra: [("retry_after", .number(seconds)), ("policy", statuses.first.map { .string($0.policy.name) } ?? .null)])
    }

    /// 403 Forbidden (a block rule or an active ban).
    public static func forbidden(accept: String?, detail: String, retryAfter: Duration? = nil) -> RateLimitResponse {
        var headers: [Header] = []
        if let retryAfter { headers.append(Header(RateLimitHeaders.retryAfterField, RateLimitHeaders.retryAfterValue(retryAfter))) }
        return make(status: 403, reason: "Forbidden", headers: headers, detail: detail, accept: accept, extra: [])
    }

    /// 503 Service Unavailable with `Retry-After` (shedding under load, issue #5).
    public static func serviceUnavailable(retryAfter: Duration, accept: String?, detail: String) -> RateLimitResponse {
        let seconds = RateLimitHeaders.retryAfterValue(retryAfter)
        return make(status: 503, reason: "Service Unavailable", headers: [Header(RateLimitHeaders.retryAfterField, seconds)],
                    detail: detail, accept: accept, extra: [("retry_after", .number(seconds))])
    }

    /// 400 Bad Request (a malformed challenge answer).
    public static func badRequest(accept: String?, detail: String) -> RateLimitResponse {
        make(status: 400, reason: "Bad Request", headers: [], detail: detail, accept: accept, extra: [])
    }

    /// Extension members of a problem body.
    enum Member {
        case number(String), string(String), null
        var json: String {
            switch self {
            case .number(let n): return n
            case .string(let s): return RateLimitResponse.jsonString(s)
            case .null: return "null"
            }
        }
    }

    static func make(status: Int, reason: String, headers: [Header], detail: String, accept: String?,
                     extra: [(String, Member)]) -> RateLimitResponse {
        var headers = headers
        headers.append(Header("Cache-Control", "no-store"))
        if AcceptPreference.prefersHTML(accept) {
            headers.append(Header("Content-Type", "text/html; charset=utf-8"))
            let body = "<!doctype html><html><head><meta charset=\"utf-8\"><title>\(status) \(reason)</title></head>"
                + "<body><h1>\(status) \(reason)</h1><p>\(escapeHTML(detail))</p></body></html>\n"
            return RateLimitResponse(status: status, reason: reason, headers: headers, body: body)
        }
        headers.append(Header("Content-Type", "application/problem+json"))
        var body = "{\"type\":\"about:blank\",\"title\":\(jsonString(reason)),\"status\":\(status),\"detail\":\(jsonString(detail))"
        for (k, v) in extra { body += ",\(jsonString(k)):\(v.json)" }
        body += "}\n"
        return RateLimitResponse(status: status, reason: reason, headers: headers, body: body)
    }

    /// A JSON string literal (also safe inside `<script>`: `<`, `>` and `&` are escaped).
    public static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += unicodeEscape(u)
            default:
                if u.value < 0x20 { out += unicodeEscape(u) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    static func unicodeEscape(_ u: Unicode.Scalar) -> String {
        let h = String(u.value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - h.count)) + h
    }

    /// Text safe inside HTML element content and attribute values.
    public static func escapeHTML(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}

