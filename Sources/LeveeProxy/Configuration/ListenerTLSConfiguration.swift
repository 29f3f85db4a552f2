import NIOCore

/// TLS termination on one listener: certificates (PEM files, chosen by SNI), the lowest protocol
/// version accepted, and what is offered by ALPN (`h2` when HTTP/2 is on, always `http/1.1`).
public struct ListenerTLSConfiguration: Sendable, Equatable {
    /// One certificate chain and its private key, served to clients asking for `serverNames`.
    public struct Certificate: Sendable, Equatable {
        /// Exact names (case-insensitive) or `*.example.com` wildcards; empty for the default.
        public var serverNames: [String]
        /// PEM file with the leaf certificate first, then intermediates.
        public var certificatePath: String
        /// PEM file with the private key.
        public var keyPath: String

        public init(serverNames: [String] = [], certificatePath: String, keyPath: String) {
            self.serverNames = serverNames.map { $0.lowercased() }
            self.certificatePath = certificatePath
            self.keyPath = keyPath
        }
    }

    /// Lowest TLS version a client may negotiate.
    public enum MinimumVersion: String, Sendable, Equatable {
        case tls12 = "1.2"
        case tls13 = "1.3"
    }

    /// Served when the client sends no SNI or a name no other certificate claims.
    public var defaultCertificate: Certificate
    /// Further certificates chosen by the SNI server name.
    public var sniCertificates: [Certificate]
    public var minimumVersion: MinimumVersion
    /// Offer `h2` by ALPN and serve HTTP/2 clients (each stream proxied as HTTP/1.1 upstream).
    public var http2: Bool
    /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` advertised to each client connection.
    public var maxConcurrentStreams: Int
    /// Rapid-reset defence (CVE-2023-44487): more stream resets than this from one connection
    /// within one second → GOAWAY (ENHANCE_YOUR_CALM), close, and the client is charged.
    public var maxResetsPerSecond: Int
    /// A TLS handshake not finished within this time closes the connection.
    public var handshakeTimeout: TimeAmount

    /// HTTP/2 limits when none are configured (also those of cleartext h2c listeners).
    public static let defaultMaxConcurrentStreams = 100
    public static let defaultMaxResetsPerSecond = 100

    public init(
        defaultCertificate: Certificate, sniCertificates: [Certificate] = [], minimumVersion: MinimumVersion = .tls12,
        http2: Bool = true, maxConcurrentStreams: Int = ListenerTLSConfiguration.defaultMaxConcurrentStreams,
        maxResetsPerSecond: Int = ListenerTLSConfiguration.defaultMaxResetsPerSecond,
        handshakeTimeout: TimeAmount = .seconds(10)
    ) {
        self.defaultCertificate = defaultCertificate
        self.sniCertificates = sniCertificates
        self.minimumVersion = minimumVersion
        self.http2 = http2
        self.maxConcurrentStreams = maxConcurrentStreams
        self.maxResetsPerSecond = maxResetsPerSecond
        self.handshakeTimeout = handshakeTimeout
    }

    /// Every certificate, the default first.
    public var allCertificates: [Certificate] { [defaultCertificate] + sniCertificates }
}

extension ListenerConfiguration {
    /// What a reload may not change: the address, PROXY protocol, and whether TLS is on
    /// (certificates and TLS settings can change; they are re-read on every reload).
    var reloadIdentity: String { "\(host):\(port) proxy_protocol=\(proxyProtocol) tls=\(tls != nil)" }
}
