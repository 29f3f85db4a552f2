import CLibCrypto

/// HMAC-SHA256 and SHA-256 through OpenSSL's libcrypto: the one place the filter calls C crypto.
///
/// One-shot functions: the challenge signs and verifies a few dozen bytes per call.
public struct HMACSHA256: Sendable {
    private let key: [UInt8]

    public init(key: [UInt8]) { self.key = key }

    /// The 32-byte MAC of `message`.
    public func authenticate(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        key.withUnsafeBufferPointer { k in  // read-only views of the key and message for the C call
            message.withUnsafeBufferPointer { m in  // libcrypto reads and writes the arrays' storage during the call only
                out.withUnsafeMutableBufferPointer { o in  // libcrypto reads and writes the arrays' storage during the call only
                    _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count, o.baseAddress, &length)
                }
            }
        }
        return out
    }

    /// The MAC of a string's UTF-8 bytes.
    public func authenticate(_ message: String) -> [UInt8] { authenticate(Array(message.utf8)) }

    /// Whether `mac` is the MAC of `message`, compared in constant time.
    public func isValid(_ mac: [UInt8], for message: [UInt8]) -> Bool {
        HMACSHA256.constantTimeEqual(authenticate(message), mac)
    }

    /// SHA-256 of `bytes` (the proof-of-work check), through the package's one SHA-256 wrapper.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { SHA256.hash(bytes) }

    /// `count` bytes from OpenSSL's CSPRNG (challenge salts, a signing key generated at start).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { o in RAND_bytes(o.baseAddress, Int32(count)) }  // fills our own buffer
        precondition(ok == 1, "RAND_bytes failed: no entropy source")
        return out
    }

    /// Equality that takes the same time wherever the first difference is.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    /// Lowercase hex.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses lowercase or uppercase hex; nil when malformed.
    public static func unhex(_ text: some StringProtocol) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let h = ClientAddress.hexValue(u[i]), let l = ClientAddress.hexValue(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
