import Foundation
import LeveeProxy
import LeveeTestSupport
import NIOCore
import NIOSSL
import Testing

/// TLS toward upstreams: a backend that only speaks HTTPS on loopback, with certificates made by
/// `openssl` in the test; the proxy checks them by default.
@Suite("TLS to upstreams", .serialized)
struct UpstreamTLSTests {
    /// An HTTPS test backend presenting `pair`, echoing the request line.
    static func httpsBackend(_ pair: TestCertificates.Pair) async throws -> TestHTTPServer {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(pair.certificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: pair.keyPath, format: .pem)))
        configuration.applicationProtocols = ["http/1.1"]
        let context = try NIOSSLContext(configuration: configuration)
        return try await TestHTTPServer.start(
            handler: { request in
                TestResponse(text: "tls backend saw \(request.head.method) \(request.head.uri) host=\(request.head.headers.first(name: "host") ?? "")")
            },
            prepare: { channel in try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) })
    }

    /// Runs `body` with a proxy whose pool `app` holds the TLS backend at `https://127.0.0.1:PORT`.
    static func withTLSUpstream(
        certificate pair: TestCertificates.Pair, tls: UpstreamTLSConfiguration,
        _ body: (ProxyHarness, TestHTTPServer) async throws -> Void
    ) async throws {
        let backend = try await httpsBackend(pair)
        let proxy: ProxyHarness
        do {
            proxy = try await ProxyHarness.start(backendPorts: []) { configuration in
                configuration.upstreams["app"] = UpstreamPoolConfiguration(
                    name: "app", backends: [BackendAddress(host: "127.0.0.1", port: backend.port, tls: true)],
                    maxRetries: 0, tls: tls)
            }
        } catch {
            await backend.shutdown()
            throw error
        }
        do {
            try await body(proxy, backend)
        } catch {
            await proxy.stop()
            await backend.shutdown()
            throw error
        }
        await proxy.stop()
        await backend.shutdown()
    }

    @Test("a request reaches an HTTPS backend whose certificate chains to tls_ca_file and names tls_server_name")
    func verifiedByName() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("backend.internal")
        let tls = UpstreamTLSConfiguration(caFile: pair.certificatePath, serverName: "backend.internal")
        try await Self.withTLSUpstream(certificate: pair, tls: tls) { proxy, backend in
            for i in 0..<3 {
                let response = try await proxy.get("/hello?n=\(i)")
                #expect(response.statusCode == 200)
                #expect(response.bodyString == "tls backend saw GET /hello?n=\(i) host=test.local")
            }
            #expect(backend.requestCount == 3)
            // Kept-alive: the pooled TLS connection is reused (two event loops: at most two).
            #expect(backend.connectionCount <= 2)
        }
    }

    @Test("without a server name the certificate must name the IP address dialled")
    func verifiedByAddress() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("backend.internal", ipAddress: "127.0.0.1")
        try await Self.withTLSUpstream(certificate: pair, tls: UpstreamTLSConfiguration(caFile: pair.certificatePath)) { proxy, backend in
            let response = try await proxy.get("/by-ip")
            #expect(response.statusCode == 200)
            #expect(response.bodyString.hasPrefix("tls backend saw GET /by-ip"))
        }
    }

    @Test("verification is on by default: an untrusted certificate or a wrong name gets 502 and no request reaches the backend")
    func refusesUntrusted() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("backend.internal")
        let stranger = try certificates.make("stranger.internal")
        // Trusts another certificate only.
        try await Self.withTLSUpstream(certificate: pair, tls: UpstreamTLSConfiguration(caFile: stranger.certificatePath, serverName: "backend.internal")) { proxy, backend in
            let response = try await proxy.get("/")
            #expect(response.statusCode == 502)
            #expect(backend.requestCount == 0)
        }
        // Trusted chain, but the certificate does not name what was asked for.
        try await Self.withTLSUpstream(certificate: pair, tls: UpstreamTLSConfiguration(caFile: pair.certificatePath, serverName: "other.internal")) { proxy, backend in
            let response = try await proxy.get("/")
            #expect(response.statusCode == 502)
            #expect(backend.requestCount == 0)
        }
        // Default trust store (no tls_ca_file): a self-signed certificate is refused.
        try await Self.withTLSUpstream(certificate: pair, tls: UpstreamTLSConfiguration(serverName: "backend.internal")) { proxy, backend in
            let response = try await proxy.get("/")
            #expect(response.statusCode == 502)
            #expect(backend.requestCount == 0)
        }
    }

    @Test("tls_verify = false accepts any certificate")
    func verifyOff() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("backend.internal")
        try await Self.withTLSUpstream(certificate: pair, tls: UpstreamTLSConfiguration(verify: false)) { proxy, backend in
            let response = try await proxy.get("/unchecked")
            #expect(response.statusCode == 200)
            #expect(backend.requestCount == 1)
        }
    }

    @Test("configuration: https:// backends, tls = true, tls_* fields, and errors with their line")
    func configuration() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("backend.internal")
        let configuration = try ProxyConfiguration.parse(
            """
            [[listen]]
            address = "127.0.0.1:8080"
            [upstream.secure]
            backends = ["https://api.internal", "https://10.0.0.2:8443"]
            tls_ca_file = "\(pair.certificatePath)"
            tls_server_name = "api.internal"
            [upstream.all]
            backends = ["10.0.0.3:9000"]
            tls = true
            tls_verify = false
            [upstream.plain]
            backends = ["http://10.0.0.4:9000"]
            [[route]]
            name = "r"
            upstream = "secure"
            """, file: "test.toml")
        let secure = try #require(configuration.upstreams["secure"])
        #expect(secure.backends == [
            BackendAddress(host: "api.internal", port: 443, tls: true), BackendAddress(host: "10.0.0.2", port: 8443, tls: true),
        ])
        #expect(secure.tls == UpstreamTLSConfiguration(caFile: pair.certificatePath, serverName: "api.internal", verify: true))
        #expect(configuration.upstreams["all"]?.backends == [BackendAddress(host: "10.0.0.3", port: 9000, tls: true)])
        #expect(configuration.upstreams["all"]?.tls.verify == false)
        #expect(configuration.upstreams["plain"]?.backends.map(\.tls) == [false])

        let bad = certificates.directory.appendingPathComponent("not-a-ca.pem").path
        try "not a certificate".write(toFile: bad, atomically: true, encoding: .utf8)
        do {
            _ = try ProxyConfiguration.parse(
                """
                [[listen]]
                address = "127.0.0.1:8080"
                [upstream.secure]
                backends = ["https://api.internal"]
                tls_ca_file = "\(bad)"
                [upstream.plain]
                backends = ["127.0.0.1:9000"]
                tls_server_name = "x.internal"
                [[route]]
                name = "r"
                upstream = "secure"
                """, file: "test.toml")
            Issue.record("a bad CA file was accepted")
        } catch {
            let text = error.errors.map(\.description).joined(separator: "\n")
            #expect(text.contains("test.toml:5: upstream.secure.tls_ca_file"))
            #expect(text.contains("upstream.plain.tls"))
        }
    }
}
