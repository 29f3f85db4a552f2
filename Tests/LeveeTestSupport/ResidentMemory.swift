import NIOCore
import NIOPosix

/// Resident memory of this process in bytes, read from /proc/self/statm (Linux); nil elsewhere.
public func residentMemoryBytes() -> Int? {
    guard let text = try? String(contentsOfFileAtPath: "/proc/self/statm") else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * 4096
}

extension String {
    fileprivate init(contentsOfFileAtPath path: String) throws {
        let handle = try NIOFileHandle(_deprecatedPath: path)
        defer { try? handle.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256)
        while true {
            let n = try handle.withUnsafeFileDescriptor { fd in
                chunk.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress, raw.count) }  // plain read(2) into a local array
            }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
