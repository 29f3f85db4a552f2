import LeveeRESP
import LeveeTestSupport
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// The RESP client over TLS, against a real redis-server serving only TLS (`--tls-port`).
@Suite("RESP client over TLS")
struct RESPClientTLSTests {
    static func client(port: Int, trust: String?, serverName: String? = nil, password: String? = nil) -> RESPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let trust { tls.trustRoots = .file(trust) }
        return testRESPClient(port: port, password: password, tls: tls, tlsServerName: serverName)
    }

    @Test("commands over TLS with the server's certificate trusted; AUTH inside TLS")
    func trustedServer() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let pair = try certificates.make("redis.test", ipAddress: "127.0.0.1")
        let server = try await RedisServerProcess.start(arguments: ["--requirepass", "tls-pass"], tls: pair)
        defer { server.stop() }
        // Checked against the address (no name given), then against a name.
        for name in [nil, "redis.test"] as [String?] {
            let client = Self.client(port: server.port, trust: pair.certificatePath, serverName: name, password: "tls-pass")
            defer { _ = client.close() }
            #expect(try await client.send(["SET", "tls:k", "over tls"]) == .simpleString("OK"))
            #expect(try await client.send(["GET", "tls:k"]) == .bulk("over tls"))
            #expect(client.statistics.connects == 1)
            #expect("\(client.configuration)".hasPrefix("rediss 127.0.0.1:"))
        }
    }

    @Test("an untrusted certificate or the wrong name fails the connection with the TLS reason")
    func refusedServer() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        // A name only (an address in the certificate would match the connection whatever the name).
        let pair = try certificates.make("redis.test")
        let server = try await RedisServerProcess.start(tls: pair)
        defer { server.stop() }
        for (trust, name) in [(nil, "redis.test"), (pair.certificatePath, "other.test"), (pair.certificatePath, nil)] as [(String?, String?)] {
            let client = Self.client(port: server.port, trust: trust, serverName: name)
            defer { _ = client.close() }
            let error = await #expect(throws: RESPError.self, "trust \(String(describing: trust)) name \(String(describing: name))") { try await client.connect().get() }
            guard case .connectFailed(let why)? = error else {
                Issue.record("not a connect failure: \(String(describing: error))")
                continue
            }
            #expect(why.hasPrefix("TLS"), "\(why)")
            #expect(client.statistics.connects == 0 && client.statistics.connectFailures >= 1)
        }
        // A plain-TCP client gets nothing sensible from a TLS port: its command fails, never hangs.
        let plain = RESPClient(
            configuration: RESPClientConfiguration(port: server.port, connectTimeout: .seconds(5), commandTimeout: .milliseconds(500)),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: quietLogger)
        defer { _ = plain.close() }
        await #expect(throws: RESPError.self) { try await plain.send(["PING"]) }
    }
}
