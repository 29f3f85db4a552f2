import Levee

/// What a rule counts against: one characteristic of the request or a combination.
///
/// `ip` and `subnet` map to exact address keys (no hashing, no allocation); every other kind or
/// combination is reduced to a digest key by the core's `LimiterKey` (SipHash with a per-process seed).
public struct RuleKey: Sendable, Hashable, CustomStringConvertible {
    /// One characteristic.
    public enum Part: Sendable, Hashable, CustomStringConvertible {
        /// The client's address.
        case ip
        /// The client's /24 (IPv4) or /64 (IPv6).
        case subnet
        case route, path, method, host
        case header(String)
        case cookie(String)
        /// The TLS client fingerprint.
        case ja4
        /// The client's class.
        case clientClass
        /// One bucket for every request the rule matches.
        case global

        /// Parses `ip`, `subnet` (or `ip/24`, `ip/64`), `route`, `path`, `method`, `host`,
        /// `header:NAME`, `cookie:NAME`, `ja4`, `class`, `global`.
        public init?(_ text: String) {
            let lower = text.lowercased()
            switch lower {
            case "ip", "address": self = .ip
            case "subnet", "ip/24", "ip/64": self = .subnet
            case "route": self = .route
            case "path": self = .path
            case "method": self = .method
            case "host": self = .host
            case "ja4": self = .ja4
            case "class": self = .clientClass
            case "global": self = .global
            default:
                if lower.hasPrefix("header:"), lower.count > 7 { self = .header(String(lower.dropFirst(7))) }
                else if lower.hasPrefix("cookie:"), text.count > 7 { self = .cookie(String(text.dropFirst(7))) }
                else { return nil }
            }
        }

        public var description: String {
            switch self {
            case .ip: "ip"
            case .subnet: "subnet"
            case .route: "route"
            case .path: "path"
            case .method: "method"
            case .host: "host"
            case .header(let n): "header:\(n)"
            case .cookie(let n): "cookie:\(n)"
            case .ja4: "ja4"
            case .clientClass: "class"
            case .global: "global"
            }
        }
    }

    public var parts: [Part]

    public init(_ parts: [Part]) { self.parts = parts.isEmpty ? [.ip] : parts }

    public static let ip = RuleKey([.ip])

    public var description: String { parts.map(\.description).joined(separator: "+") }

    /// The limiter key of a request.
    public func limiterKey(for facts: RequestFacts) -> LimiterKey {
        if parts.count == 1 {
            switch parts[0] {
            case .ip: return Self.addressKey(facts.address)
            case .subnet: return Self.addressKey(facts.address?.subnet)
            case .global: return LimiterKey(0)
            default: break
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        for part in parts {
            switch part {
            case .ip: Self.append(facts.address, to: &bytes)
            case .subnet: Self.append(facts.address?.subnet, to: &bytes)
            case .route: bytes += facts.route.utf8
            case .path: bytes += facts.path.utf8
            case .method: bytes += facts.method.utf8
            case .host: bytes += facts.host.utf8
            case .header(let n): bytes += (facts.header(n) ?? "").utf8
            case .cookie(let n): bytes += (facts.cookie(n) ?? "").utf8
            case .ja4: bytes += (facts.ja4 ?? "").utf8
            case .clientClass: bytes += facts.clientClass.rawValue.utf8
            case .global: bytes.append(0x47)
            }
            bytes.append(0)  // separator: ("ab","c") and ("a","bc") stay apart
        }
        return LimiterKey(bytes: bytes)
    }

    /// The exact key of an address (a Unix-socket client without an address shares one key).
    public static func addressKey(_ address: ClientAddress?) -> LimiterKey {
        switch address {
        case .v4(let v): return LimiterKey(ipv4: v)
        case .v6(let h, let l): return LimiterKey(ipv6High: h, low: l)
        case nil: return LimiterKey(UInt64.max)
        }
    }

    private static func append(_ a: ClientAddress?, to bytes: inout [UInt8]) {
        switch a {
        case .v4(let v): for s in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) }
        case .v6(let h, let l):
            for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: h >> UInt64(s))) }
            for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: l >> UInt64(s))) }
        case nil: bytes.append(0xFF)
        }
    }
}
