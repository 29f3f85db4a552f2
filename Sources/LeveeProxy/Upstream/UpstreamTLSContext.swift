import NIOCore
import NIOSSL

/// The client side of TLS toward the backends of one pool: one `NIOSSLContext` (HTTP/1.1 by
/// ALPN, TLS 1.2 or 1.3, certificates checked unless the pool says `tls_verify = false`) and the
/// name to send in SNI. Built with each runtime, so a reload re-reads the CA file.
final class UpstreamTLSContext: Sendable {
    let sslContext: NIOSSLContext
    let configuration: UpstreamTLSConfiguration

    init(configuration: UpstreamTLSConfiguration) throws {
        self.configuration = configuration
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["http/1.1"]
        tls.certificateVerification = configuration.verify ? .fullVerification : .none
        if let caFile = configuration.caFile {
            tls.trustRoots = .certificates(try Self.loadCertificates(caFile))
        }
        sslContext = try NIOSSLContext(configuration: tls)
    }

    /// The SNI name for a connection to `backend`: the configured name, else the backend's host
    /// when it is a name (an IP address is not sent; the certificate is checked against it).
    func serverName(for backend: BackendAddress) -> String? {
        if let name = configuration.serverName { return name }
        return (try? SocketAddress(ipAddress: backend.host, port: 0)) == nil ? backend.host : nil
    }

    /// The TLS handler that starts a connection to `backend`.
    func makeHandler(for backend: BackendAddress) throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: sslContext, serverHostname: serverName(for: backend))
    }

    /// Whether `error` came from TLS (handshake, certificate check) rather than the connection.
    static func isTLSError(_ error: any Error) -> Bool {
        error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
    }

    /// Why `path` cannot serve as a CA bundle, or nil when it holds at least one PEM certificate.
    static func checkCAFile(_ path: String) -> String? {
        do {
            _ = try loadCertificates(path)
            return nil
        } catch {
            return "\(error)"
        }
    }

    private static func loadCertificates(_ path: String) throws -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw TLSServerContext.LoadError(path: path, reason: "not a readable PEM certificate bundle (\(error))")
        }
        guard !certificates.isEmpty else { throw TLSServerContext.LoadError(path: path, reason: "no certificate in the file") }
        return certificates
    }
}
