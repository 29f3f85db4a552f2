import CLibCrypto

/// One-shot SHA-256 through OpenSSL's libcrypto (the project's one source of hashing primitives).
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func hash<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let input = Array(bytes)
        input.withUnsafeBytes { raw in  // libcrypto reads the array's storage during the call only
            // EVP_Digest reads `count` bytes from the array's storage and writes 32 into `out`.
            _ = EVP_Digest(raw.baseAddress, raw.count, &out, &length, EVP_sha256(), nil)
        }
        return out
    }

    /// Lowercase hex of the digest of `string`'s UTF-8 bytes.
    public static func hex(_ string: String) -> String {
        hexString(hash(Array(string.utf8)))
    }

    /// Lowercase hex of arbitrary bytes.
    public static func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits: [Character] = Array("0123456789abcdef")
        var s = ""
        for b in bytes {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 0x0F)])
        }
        return s
    }
}
