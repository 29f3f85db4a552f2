import LeveeProxy
import LeveeTestSupport
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Large bodies through the proxy, generated on the fly, checked by SHA-256, with resident
/// memory bounded. Size: `LEVEE_BIG_BODY_MIB` (default 128 MiB each way, to keep the debug test
/// run short; the 1 GiB runs with `LEVEE_BIG_BODY_MIB=1024`).
@Suite struct ProxyStreamingTests {
    static var size: Int {
        let mib = getenv("LEVEE_BIG_BODY_MIB").flatMap { Int(String(cString: $0)) } ?? 128
        return mib * 1024 * 1024
    }

    /// Growth of resident memory allowed while a body of `size` bytes streams through the
    /// process (client, proxy and backend are all in it).
    static let memoryBound = 96 * 1024 * 1024

    @Test func largeUploadAndDownloadStreamWithFlatMemory() async throws {
        try await withStreamingProxy(configure: { $0.limits.maxBodyBytes = Int.max }) { proxy, _ in
            let size = Self.size
            let client = try await proxy.connect()
            // Warm up the connection and the pools before measuring.
            try await client.send("GET /bytes/1000000 HTTP/1.1\r\nHost: a\r\n\r\n")
            _ = try await client.readResponse(digest: SHA256Digest())
            let before = residentMemoryBytes() ?? 0

            try await client.send("GET /bytes/\(size) HTTP/1.1\r\nHost: a\r\n\r\n")
            let digest = SHA256Digest()
            let download = try await client.readResponse(digest: digest, timeout: .seconds(600))
            #expect(download.bodyLength == size)
            #expect(digest.finalize() == PatternBody.sha256(length: size))
            let afterDownload = residentMemoryBytes() ?? 0

            try await client.send("POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: \(size)\r\n\r\n")
            var offset = 0
            let step = 256 * 1024
            while offset < size {
                let n = min(step, size - offset)
                try await client.send(PatternBody.chunk(offset: offset, count: n))
                offset += n
            }
            let upload = try await client.readResponse(timeout: .seconds(600))
            #expect(upload.bodyString == "\(size) \(PatternBody.sha256(length: size))")
            let afterUpload = residentMemoryBytes() ?? 0
            await client.close()
            print("streamed \(size) bytes each way; RSS growth: download \(afterDownload - before), upload \(afterUpload - before) bytes")

            #expect(afterDownload - before < Self.memoryBound, "download grew RSS by \(afterDownload - before) bytes")
            #expect(afterUpload - before < Self.memoryBound, "upload grew RSS by \(afterUpload - before) bytes")
        }
    }
}
