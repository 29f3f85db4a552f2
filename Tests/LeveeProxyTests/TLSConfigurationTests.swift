import Foundation
import LeveeTestSupport
import Testing

@testable import LeveeProxy

/// `[listen.tls]` and `[[listen.tls.sni]]` in the TOML file.
@Suite("TLS configuration")
struct TLSConfigurationTests {
    @Test("a TLS listener with SNI certificates decodes; relative paths are taken from the file's directory")
    func decodes() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let main = try certificates.make("localhost")
        let api = try certificates.make("api.test")
        let dir = certificates.directory.path
        let text = """
            [[listen]]
            address = "127.0.0.1:8443"
            [listen.tls]
            certificate = "localhost.pem"
            key = "\(main.keyPath)"
            min_version = "1.3"
            http2 = true
            max_concurrent_streams = 64
            max_resets_per_second = 50
            handshake_timeout = "5s"
            [[listen.tls.sni]]
            names = ["api.test", "*.api.test"]
            certificate = "api.test.pem"
            key = "api.test.key"

            [upstream.app]
            backends = ["127.0.0.1:9000"]

            [[route]]
            name = "all"
            upstream = "app"
            """
        let configuration = try ProxyConfiguration.parse(text, file: dir + "/levee.toml")
        let tls = try #require(configuration.listeners.first?.tls)
        #expect(tls.defaultCertificate.certificatePath == main.certificatePath)
        #expect(tls.defaultCertificate.keyPath == main.keyPath)
        #expect(tls.minimumVersion == .tls13)
        #expect(tls.maxConcurrentStreams == 64 && tls.maxResetsPerSecond == 50)
        #expect(tls.handshakeTimeout == .seconds(5))
        #expect(tls.sniCertificates == [
            .init(serverNames: ["api.test", "*.api.test"], certificatePath: api.certificatePath, keyPath: api.keyPath)
        ])
        // Loads: the files are real certificates and keys.
        _ = try TLSServerContext(configuration: tls)
    }

    @Test("missing files, missing fields and a bad version are reported by field and line")
    func errors() throws {
        let text = """
            [[listen]]
            address = "127.0.0.1:8443"
            [listen.tls]
            certificate = "/nonexistent/site.pem"
            min_version = "1.1"
            [[listen.tls.sni]]
            certificate = "/nonexistent/api.pem"
            key = "/nonexistent/api.key"
            """
        var reported: [ConfigurationError] = []
        do {
            _ = try ProxyConfiguration.parse(text, file: "/tmp/levee.toml")
        } catch {
            reported = error.errors
        }
        let byField = Dictionary(reported.map { ($0.field, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byField["listen[0].tls.certificate"]?.line == 4)
        #expect(byField["listen[0].tls.certificate"]?.message.contains("does not exist") == true)
        #expect(byField["listen[0].tls.key"]?.message.contains("missing") == true)
        #expect(byField["listen[0].tls.min_version"]?.line == 5)
        #expect(byField["listen[0].tls.sni[0].names"]?.message.contains("missing") == true)
        #expect(byField["listen[0].tls.sni[0].key"]?.line == 8)
    }

    @Test("h2c on a plain listener; refused beside [listen.tls]")
    func h2c() throws {
        let plain = try ProxyConfiguration.parse("""
            [[listen]]
            address = "127.0.0.1:8080"
            h2c = true
            [[listen]]
            address = "127.0.0.1:8081"
            [upstream.app]
            backends = ["127.0.0.1:9000"]
            [[route]]
            upstream = "app"
            """, file: "/tmp/levee.toml")
        #expect(plain.listeners.map(\.h2c) == [true, false])
        do {
            _ = try ProxyConfiguration.parse("""
                [[listen]]
                address = "127.0.0.1:8443"
                h2c = true
                [listen.tls]
                certificate = "/nonexistent/site.pem"
                key = "/nonexistent/site.key"
                """, file: "/tmp/levee.toml")
            Issue.record("h2c with TLS was accepted")
        } catch {
            let h2c = error.errors.first { $0.field == "listen[0].h2c" }
            #expect(h2c?.line == 3)
            #expect(h2c?.message.contains("without TLS") == true)
        }
    }

    @Test("SNI table: exact names, one-label wildcards, trailing dot, case")
    func sniTable() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("x.test")
        let exact = try TLSServerContext.load(.init(serverNames: ["a.test"], certificatePath: pair.certificatePath, keyPath: pair.keyPath))
        let wild = try TLSServerContext.load(.init(serverNames: ["*.b.test"], certificatePath: pair.certificatePath, keyPath: pair.keyPath))
        let table = try SNICertificateTable([exact, wild])
        #expect(table.lookup("a.test")?.serverNames == ["a.test"])
        #expect(table.lookup("A.TEST.")?.serverNames == ["a.test"])
        #expect(table.lookup("x.b.test")?.serverNames == ["*.b.test"])
        #expect(table.lookup("b.test") == nil)
        #expect(table.lookup("y.x.b.test") == nil)
        #expect(table.lookup(nil) == nil)
    }
}
