import CLibCrypto
import NIOCore

/// SHA-256 through OpenSSL's libcrypto, to check bodies byte-exact in tests.
public final class SHA256Digest {
    // EVP_MD_CTX is an opaque C object owned by this instance and freed in deinit.
    private let context: OpaquePointer

    deinit { EVP_MD_CTX_free(context) }

    public init() {
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    public func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { raw in
            _ = EVP_DigestUpdate(context, raw.baseAddress, raw.count)  // raw bytes of the buffer, read only
        }
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            _ = EVP_DigestUpdate(context, raw.baseAddress, raw.count)  // raw bytes of the array, read only
        }
    }

    /// The digest as lowercase hex; the value must not be used afterwards.
    public func finalize() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        let digits = Array("0123456789abcdef")
        return String(out.prefix(Int(length)).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
    }

    /// One-shot digest of a buffer.
    public static func hex(_ buffer: ByteBuffer) -> String {
        let d = SHA256Digest()
        d.update(buffer)
        return d.finalize()
    }
}
