import Foundation
import NIOSSL

/// Self-signed certificates made by `openssl` at test time, in a fresh temporary directory.
public struct TestCertificates {
    public let directory: URL

    public struct Pair: Sendable {
        public let certificatePath: String
        public let keyPath: String
        /// The certificate as a server would present it.
        public func certificate() throws -> NIOSSLCertificate { try NIOSSLCertificate.fromPEMFile(certificatePath)[0] }
    }

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("levee-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    public func remove() { try? FileManager.default.removeItem(at: directory) }

    /// An EC P-256 certificate for `name` (CN and subjectAltName, plus `ipAddress` when given),
    /// valid for a day.
    public func make(_ name: String, ipAddress: String? = nil) throws -> Pair {
        let file = name.replacingOccurrences(of: "*", with: "wildcard")
        let pair = Pair(
            certificatePath: directory.appendingPathComponent("\(file).pem").path,
            keyPath: directory.appendingPathComponent("\(file).key").path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name)" + (ipAddress.map { ",IP:\($0)" } ?? ""),
            "-keyout", pair.keyPath, "-out", pair.certificatePath,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TLSTestError("openssl failed for \(name)") }
        return pair
    }
}

public struct TLSTestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
