import NIOCore

/// A deterministic body of any length, generated on the fly (never stored): byte `i` is
/// `block[i % block.count]`, with a pseudo-random block of prime length so that a dropped,
/// repeated or shifted chunk changes the SHA-256.
public enum PatternBody {
    /// 65,521 pseudo-random bytes (xorshift64).
    public static let block: [UInt8] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<65_521).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }()

    /// The `count` bytes starting at `offset`.
    public static func chunk(offset: Int, count: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: count)
        var position = offset % block.count
        var remaining = count
        while remaining > 0 {
            let n = min(remaining, block.count - position)
            buffer.writeBytes(block[position..<(position + n)])
            remaining -= n
            position = 0
        }
        return buffer
    }

    /// SHA-256 (hex) of the first `length` bytes.
    public static func sha256(length: Int) -> String {
        let digest = SHA256Digest()
        let full = length / block.count
        for _ in 0..<full { digest.update(block) }
        digest.update(Array(block[0..<(length % block.count)]))
        return digest.finalize()
    }
}
