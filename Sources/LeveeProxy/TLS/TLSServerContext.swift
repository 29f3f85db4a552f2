import NIOCore
import NIOSSL

/// The TLS side of one listener, built from its `ListenerTLSConfiguration`: one `NIOSSLContext`
/// serving the default certificate, with the SNI callback swapping in the certificate whose names
/// match the client's server name. Building it reads and checks every PEM file, so a bad file
/// fails at start or reload (and the old context keeps serving).
public final class TLSServerContext: Sendable {
    /// The context handed to every `NIOSSLServerHandler` of the listener.
    public let sslContext: NIOSSLContext
    /// The configuration it was built from.
    public let configuration: ListenerTLSConfiguration
    /// Protocols offered by ALPN, preferred first.
    public let applicationProtocols: [String]

    /// Loads the certificates and keys. Throws `TLSServerContext.LoadError` naming the file.
    public init(configuration: ListenerTLSConfiguration) throws {
        self.configuration = configuration
        let table = try SNICertificateTable(configuration.sniCertificates.map(Self.load))
        let defaultMaterial = try Self.load(configuration.defaultCertificate).material
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: defaultMaterial.chain.map { .certificate($0) }, privateKey: .privateKey(defaultMaterial.key))
        tls.minimumTLSVersion = configuration.minimumVersion == .tls13 ? .tlsv13 : .tlsv12
        applicationProtocols = configuration.http2 ? ["h2", "http/1.1"] : ["http/1.1"]
        tls.applicationProtocols = applicationProtocols
        if !table.isEmpty {
            tls.sslContextCallback = { values, promise in
                guard let entry = table.lookup(values.serverHostname) else {
                    promise.succeed(.noChanges)
                    return
                }
                var override = NIOSSLContextConfigurationOverride()
                override.certificateChain = entry.material.chain.map { .certificate($0) }
                override.privateKey = .privateKey(entry.material.key)
                promise.succeed(override)
            }
        }
        do {
            sslContext = try NIOSSLContext(configuration: tls)
        } catch {
            throw LoadError(path: configuration.defaultCertificate.certificatePath, reason: "\(error)")
        }
    }

    /// A certificate or key that could not be used.
    public struct LoadError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "TLS: cannot use \(path): \(reason)" }
    }

    static func load(_ certificate: ListenerTLSConfiguration.Certificate) throws -> SNICertificateTable.Entry {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate.certificatePath)
        } catch {
            throw LoadError(path: certificate.certificatePath, reason: "not a PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw LoadError(path: certificate.certificatePath, reason: "no certificate in the file") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: certificate.keyPath, format: .pem)
        } catch {
            throw LoadError(path: certificate.keyPath, reason: "not a PEM private key (\(error))")
        }
        return SNICertificateTable.Entry(serverNames: certificate.serverNames, material: .init(chain: chain, key: key))
    }
}
