import Levee

/// Issues proof-of-work challenges and clearance cookies, and checks them. Stateless: everything
/// it needs to check later is in the signed token or cookie, so nothing is stored per client.
///
/// - Challenge token: `1.<expires>.<difficulty>.<salt>.<mac>`, the MAC (HMAC-SHA256) covering
///   the fields and the client's subnet, so a token is only good for the subnet it was issued to.
/// - Solution: a decimal nonce such that SHA-256(token ‖ nonce) starts with `difficulty` zero bits.
/// - Clearance cookie: `<expires>.<mac>`, the MAC covering the expiry and the client's /24 (or
///   /64), so a stolen cookie does not work from elsewhere and an edited one does not verify.
///
/// Times are Unix seconds passed in by the caller (a wall clock in production, a fixed value in tests).
public struct ChallengeAuthority: Sendable {
    public let settings: ChallengeSettings
    private let mac: HMACSHA256

    /// Why a challenge answer or cookie was refused.
    public enum Failure: Error, Sendable, Equatable {
        case malformed
        /// Forged, edited, or issued to another subnet (the MAC covers the subnet, so these look alike).
        case badSignature
        case expired
        case insufficientWork
    }

    public init(settings: ChallengeSettings) {
        self.settings = settings
        self.mac = HMACSHA256(key: settings.key ?? HMACSHA256.randomBytes(32))
    }

    // MARK: challenges

    /// A new challenge token for a client.
    public func issue(for client: ClientAddress, now: Int64, salt: [UInt8] = HMACSHA256.randomBytes(8)) -> String {
        let expires = now + RateLimitHeaders.ceilSeconds(settings.challengeLifetime)
        let body = "1.\(expires).\(settings.difficulty).\(HMACSHA256.hex(salt))"
        return body + "." + HMACSHA256.hex(mac.authenticate(Self.challengeMessage(body, client.subnet)))
    }

    /// Checks an answer; on success returns the clearance cookie value to set.
    public func verify(token: String, nonce: String, client: ClientAddress, now: Int64) -> Result<String, Failure> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "1", let expires = Int64(parts[1]), let bits = Int(parts[2]),
              HMACSHA256.unhex(parts[3]) != nil, let tag = HMACSHA256.unhex(parts[4]),
              !nonce.isEmpty, nonce.count <= 20, nonce.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 })
        else { return .failure(.malformed) }
        let body = parts[0..<4].joined(separator: ".")
        guard mac.isValid(tag, for: Self.challengeMessage(body, client.subnet)) else { return .failure(.badSignature) }
        guard now <= expires else { return .failure(.expired) }
        guard Self.leadingZeroBits(HMACSHA256.sha256(Array((token + nonce).utf8))) >= bits else {
            return .failure(.insufficientWork)
        }
        return .success(clearance(for: client, now: now))
    }

    // MARK: clearance cookies

    /// A clearance cookie value for `client`, valid for `clearanceLifetime` from `now`.
    public func clearance(for client: ClientAddress, now: Int64) -> String {
        let expires = now + RateLimitHeaders.ceilSeconds(settings.clearanceLifetime)
        return "\(expires)." + HMACSHA256.hex(mac.authenticate(Self.clearanceMessage(expires, client.subnet)))
    }

    /// Checks a clearance cookie value presented by `client`; on success returns its expiry.
    public func validateClearance(_ value: Substring, client: ClientAddress, now: Int64) -> Result<Int64, Failure> {
        guard let dot = value.firstIndex(of: "."), let expires = Int64(value[..<dot]),
              let tag = HMACSHA256.unhex(value[value.index(after: dot)...]), tag.count == 32
        else { return .failure(.malformed) }
        guard mac.isValid(tag, for: Self.clearanceMessage(expires, client.subnet)) else {
            return .failure(.badSignature)
        }
        guard now <= expires else { return .failure(.expired) }
        return .success(expires)
    }

    /// The `Set-Cookie` value for a clearance.
    public func setCookieValue(_ clearance: String) -> String {
        var v = "\(settings.cookieName)=\(clearance); Path=/; Max-Age=\(RateLimitHeaders.ceilSeconds(settings.clearanceLifetime)); HttpOnly; SameSite=Lax"
        if settings.secureCookie { v += "; Secure" }
        return v
    }

    // MARK: helpers

    /// The MAC input binds the token to the subnet; the prefix separates it from cookie MACs.
    static func challengeMessage(_ body: String, _ subnet: ClientAddress) -> [UInt8] {
        Array("challenge|\(body)|\(subnet)".utf8)
    }

    static func clearanceMessage(_ expires: Int64, _ subnet: ClientAddress) -> [UInt8] {
        Array("clearance|\(expires)|\(subnet)".utf8)
    }

    /// Leading zero bits of a digest.
    public static func leadingZeroBits(_ digest: [UInt8]) -> Int {
        var bits = 0
        for byte in digest {
            if byte == 0 { bits += 8; continue }
            return bits + byte.leadingZeroBitCount
        }
        return bits
    }

    /// Solves a challenge by brute force (what the page's JavaScript does; used by tests and the
    /// load generator's "browser" profile).
    public static func solve(token: String, difficulty: Int, limit: Int = 50_000_000) -> String? {
        for n in 0..<limit {
            let nonce = String(n)
            if leadingZeroBits(HMACSHA256.sha256(Array((token + nonce).utf8))) >= difficulty { return nonce }
        }
        return nil
    }
}
