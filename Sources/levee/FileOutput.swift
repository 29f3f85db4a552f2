#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Small file helpers for the command line .
enum FileOutput {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func standardError(_ s: String) {
        var s = s
        s.withUTF8 { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    static func write(_ text: String, to path: String) throws {
        guard let f = fopen(path, "w") else { throw Failure(description: "cannot write \(path)") }
        defer { fclose(f) }
        var t = text
        let ok = t.withUTF8 { fwrite($0.baseAddress, 1, $0.count, f) == $0.count }
        if !ok { throw Failure(description: "short write to \(path)") }
    }
}

/// Reads a whole text file.
func readFile(_ path: String) throws -> String {
    guard let f = fopen(path, "r") else { throw FileOutput.Failure(description: "no such file or not readable") }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The completed count at the previous progress tick (the progress callback is @Sendable).
final class ProgressState: Sendable {
    private let value = Atomic<Int>(0)
    func swap(_ new: Int) -> Int { value.exchange(new, ordering: .relaxed) }
}
