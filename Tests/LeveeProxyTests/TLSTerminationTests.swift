import Foundation
import LeveeProxy
import NIOCore
import NIOHTTP1
import NIOSSL
import LeveeTestSupport
import Testing

/// TLS termination end to end on loopback: certificates made by openssl at test time, NIOSSL
/// clients (and curl) through the proxy to a plain HTTP/1.1 backend.
@Suite("TLS termination", .serialized)
struct TLSTerminationTests {
    @Test("HTTPS through to a plain backend: body, X-Forwarded-Proto https, RequestContext.isTLS")
    func endToEnd() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("localhost")
        let filter = RecordingFilter()
        try await withProxy(backend: echoHeaders, filter: filter, configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, tls: .test(pair))]
        }) { proxy, backend in
            let connection = try await TLSTestConnection.connect(port: proxy.port, serverName: "localhost", alpn: ["http/1.1"])
            let response = try await connection.http1(.GET, "/hello?x=1")
            await connection.close()
            #expect(response.status == 200)
            #expect(response.body.contains("GET /hello?x=1"))
            #expect(response.body.contains("x-forwarded-proto: https"))
            #expect(backend.requestCount == 1)
            #expect(filter.requests.first?.isTLS == true)

            // A plain-text client on the TLS port gets no HTTP answer (TLS rejects it).
            let plain = try await proxy.connect()
            try await plain.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let leftovers = try await plain.waitForClose()
            #expect(!leftovers.contains("HTTP/1.1 200"))
            #expect(backend.requestCount == 1)
        }
    }

    @Test("curl over HTTPS (OpenSSL client) reaches the backend")
    func curlHTTPS() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("localhost")
        try await withProxy(configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, tls: .test(pair))]
        }) { proxy, backend in
            let output = try runCurl(["--http1.1", "-w", " %{http_code} %{http_version}", "https://127.0.0.1:\(proxy.port)/"])
            #expect(output == "ok 200 1.1")
            #expect(backend.requestCount == 1)
        }
    }

    @Test("ALPN: h2 when offered, http/1.1 otherwise, and only http/1.1 when HTTP/2 is off")
    func alpn() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("localhost")
        var noHTTP2 = ListenerTLSConfiguration.test(pair)
        noHTTP2.http2 = false
        try await withProxy(configure: { configuration in
            configuration.listeners = [
                ListenerConfiguration(host: "127.0.0.1", port: 0, tls: .test(pair)),
                ListenerConfiguration(host: "127.0.0.1", port: 0, tls: noHTTP2),
            ]
        }) { proxy, _ in
            let ports = proxy.server.boundAddresses.compactMap(\.port)
            try #require(ports.count == 2)
            let both = try await TLSTestConnection.connect(port: ports[0], alpn: ["h2", "http/1.1"])
            #expect(both.negotiatedProtocol == "h2")
            await both.close()
            let http1 = try await TLSTestConnection.connect(port: ports[0], alpn: ["http/1.1"])
            #expect(http1.negotiatedProtocol == "http/1.1")
            let response = try await http1.http1(.GET, "/")
            #expect(response.status == 200)
            await http1.close()
            let none = try await TLSTestConnection.connect(port: ports[0])
            #expect(none.negotiatedProtocol == nil)
            #expect(try await none.http1(.GET, "/").status == 200)
            await none.close()
            let off = try await TLSTestConnection.connect(port: ports[1], alpn: ["h2", "http/1.1"])
            #expect(off.negotiatedProtocol == "http/1.1")
            await off.close()
        }
    }

    @Test("SNI picks the certificate: exact name, wildcard, default for unknown or no name")
    func sni() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let fallback = try certificates.make("default.test")
        let api = try certificates.make("api.test")
        let wild = try certificates.make("*.wild.test")
        let tls = ListenerTLSConfiguration.test(fallback, sni: [
            .init(serverNames: ["api.test", "API2.test"], certificatePath: api.certificatePath, keyPath: api.keyPath),
            .init(serverNames: ["*.wild.test"], certificatePath: wild.certificatePath, keyPath: wild.keyPath),
        ])
        try await withProxy(configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, tls: tls)]
        }) { proxy, _ in
            let cases: [(String?, TestCertificates.Pair)] = [
                ("api.test", api), ("api2.test", api), ("a.wild.test", wild), ("a.b.wild.test", fallback),
                ("other.test", fallback), (nil, fallback),
            ]
            for (name, expected) in cases {
                let connection = try await TLSTestConnection.connect(port: proxy.port, serverName: name, alpn: ["http/1.1"])
                let want = try expected.certificate()
                #expect(connection.peerCertificate == want, "server name \(name ?? "none")")
                #expect(try await connection.http1(.GET, "/", host: name ?? "localhost").status == 200)
                await connection.close()
            }
        }
    }

    @Test("min_version 1.3 refuses a TLS 1.2-only client; 1.2 and 1.3 both served by default")
    func minimumVersion() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("localhost")
        var strict = ListenerTLSConfiguration.test(pair)
        strict.minimumVersion = .tls13
        try await withProxy(configure: { configuration in
            configuration.listeners = [
                ListenerConfiguration(host: "127.0.0.1", port: 0, tls: .test(pair)),
                ListenerConfiguration(host: "127.0.0.1", port: 0, tls: strict),
            ]
        }) { proxy, _ in
            let ports = proxy.server.boundAddresses.compactMap(\.port)
            try #require(ports.count == 2)
            let tls12 = try await TLSTestConnection.connect(port: ports[0], alpn: ["http/1.1"], maximumVersion: .tlsv12)
            #expect(try await tls12.channel.nioSSL_tlsVersion().get() == .tlsv12)
            #expect(try await tls12.http1(.GET, "/").status == 200)
            await tls12.close()
            await #expect(throws: (any Error).self) {
                _ = try await TLSTestConnection.connect(port: ports[1], alpn: ["http/1.1"], maximumVersion: .tlsv12)
            }
            let tls13 = try await TLSTestConnection.connect(port: ports[1], alpn: ["http/1.1"])
            #expect(try await tls13.channel.nioSSL_tlsVersion().get() == .tlsv13)
            await tls13.close()
        }
    }

    @Test("a client that never finishes the handshake is closed at the handshake timeout")
    func handshakeTimeout() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("localhost")
        var tls = ListenerTLSConfiguration.test(pair)
        tls.handshakeTimeout = .milliseconds(300)
        try await withProxy(configure: { configuration in
            configuration.listeners = [ListenerConfiguration(host: "127.0.0.1", port: 0, tls: tls)]
        }) { proxy, _ in
            let client = try await proxy.connect()
            try await client.send(ByteBuffer(bytes: [0x16, 0x03, 0x01]))  // the start of a record, then silence
            _ = try await client.waitForClose(timeout: .seconds(5))
            #expect(client.isClosedByPeer)
        }
    }
}
