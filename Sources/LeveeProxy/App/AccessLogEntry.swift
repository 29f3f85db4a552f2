/// One line of the access log: what the data path knows when a response has completed.
public struct AccessLogEntry: Sendable, Equatable {
    /// Seconds since 1970 when the request head arrived.
    public var time: Double
    /// Client address (after PROXY protocol / trusted forwarding resolution), "ip" or "ip:port".
    public var client: String
    public var method: String
    /// Request target as received (path and query).
    public var uri: String
    public var host: String?
    /// Matched route name (empty when none matched).
    public var route: String
    /// Backend that answered ("127.0.0.1:8081"), nil for local answers (404, 429, 502 ...).
    public var upstream: String?
    public var status: Int
    /// Request body bytes received and response body bytes sent.
    public var bytesIn: Int
    public var bytesOut: Int
    /// From the request head to the end of the response, in seconds.
    public var duration: Double
    public var userAgent: String?

    public init(
        time: Double, client: String, method: String, uri: String, host: String? = nil, route: String,
        upstream: String? = nil, status: Int, bytesIn: Int = 0, bytesOut: Int = 0, duration: Double,
        userAgent: String? = nil
    ) {
        self.time = time
        self.client = client
        self.method = method
        self.uri = uri
        self.host = host
        self.route = route
        self.upstream = upstream
        self.status = status
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.duration = duration
        self.userAgent = userAgent
    }

    /// The entry as one JSON object followed by a newline (hand-written: this runs per request).
    public func appendJSONLine(to out: inout [UInt8]) {
        out.append(contentsOf: #"{"time":"#.utf8)
        out.append(contentsOf: String(format3(time)).utf8)
        field("client", client, &out)
        field("method", method, &out)
        field("uri", uri, &out)
        if let host { field("host", host, &out) }
        field("route", route, &out)
        if let upstream { field("upstream", upstream, &out) }
        out.append(contentsOf: #","status":"#.utf8)
        out.append(contentsOf: String(status).utf8)
        out.append(contentsOf: #","bytes_in":"#.utf8)
        out.append(contentsOf: String(bytesIn).utf8)
        out.append(contentsOf: #","bytes_out":"#.utf8)
        out.append(contentsOf: String(bytesOut).utf8)
        out.append(contentsOf: #","duration_ms":"#.utf8)
        out.append(contentsOf: format3(duration * 1000).utf8)
        if let userAgent { field("user_agent", userAgent, &out) }
        out.append(contentsOf: "}\n".utf8)
    }

    private func format3(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let scaled = (value * 1000).rounded()
        let whole = Int64(scaled / 1000)
        let fraction = Int64(abs(scaled.truncatingRemainder(dividingBy: 1000)))
        let padded = String(fraction)
        return "\(whole).\(String(repeating: "0", count: 3 - padded.count))\(padded)"
    }

    private func field(_ name: String, _ value: String, _ out: inout [UInt8]) {
        out.append(contentsOf: ",\"\(name)\":\"".utf8)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
