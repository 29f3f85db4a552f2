import LeveeRESP
import LeveeTestSupport
import NIOCore
import NIOPosix
import Testing

/// `AUTH` and `SELECT` on connect, against a real redis-server started with `--requirepass`.
@Suite("RESP client with a password-protected redis-server")
struct RESPClientAuthTests {
    static let password = "pass word:with\r\nbytes"  // RESP bulk strings carry anything

    static func client(port: Int, password: String?, username: String? = nil, database: Int = 0) -> RESPClient {
        testRESPClient(port: port, password: password, username: username, database: database)
    }

    @Test("AUTH and SELECT run on every connection, reconnections included")
    func authenticatesAndSelects() async throws {
        let server = try await RedisServerProcess.start(arguments: ["--requirepass", Self.password])
        defer { server.stop() }
        let anonymous = Self.client(port: server.port, password: nil)
        defer { _ = anonymous.close() }
        let refused = await #expect(throws: RESPError.self) { try await anonymous.send(["GET", "k"]) }
        if case .server(let code, _)? = refused { #expect(code == "NOAUTH") } else { Issue.record("\(String(describing: refused))") }

        let client = Self.client(port: server.port, password: Self.password, database: 3)
        defer { _ = client.close() }
        let admin = Self.client(port: server.port, password: Self.password)
        defer { _ = admin.close() }
        #expect(try await client.send(["SET", "k", "in db 3"]) == .simpleString("OK"))
        #expect(try await admin.send(["GET", "k"]) == .bulkString(nil))  // database 0
        #expect(try await admin.send(["SELECT", "3"]) == .simpleString("OK"))
        #expect(try await admin.send(["GET", "k"]) == .bulk("in db 3"))

        // The server drops every other client; the client reconnects and must authenticate and
        // select again before its commands run (otherwise NOAUTH, or database 0's nil).
        #expect(try await admin.send(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]) != .integer(0))
        let deadline = ContinuousClock.now + .seconds(10)
        var reply: RESPValue?
        while ContinuousClock.now < deadline {
            do {
                reply = try await client.send(["GET", "k"])
                break
            } catch RESPError.notConnected, RESPError.connectionClosed {
                try await Task.sleep(for: .milliseconds(10))  // reconnecting (backoff 10-50 ms)
            }
        }
        #expect(reply == .bulk("in db 3"))
        #expect(client.statistics.connects == 2)
    }

    @Test("a wrong password fails the connection with Redis's reason and never sends commands unauthenticated")
    func wrongPassword() async throws {
        let server = try await RedisServerProcess.start(arguments: ["--requirepass", Self.password])
        defer { server.stop() }
        let client = Self.client(port: server.port, password: "not it")
        defer { _ = client.close() }
        let error = await #expect(throws: RESPError.self) { try await client.connect().get() }
        guard case .connectFailed(let why)? = error else {
            Issue.record("not a connect failure: \(String(describing: error))")
            return
        }
        #expect(why.hasPrefix("redis refused AUTH: WRONGPASS"), "\(why)")
        // Commands fail (fast, or with the handshake's reason) instead of reaching Redis.
        await #expect(throws: RESPError.self) { try await client.send(["SET", "k", "v"]) }
        let stats = client.statistics
        #expect(stats.connectFailures >= 1 && stats.connects == 0 && !stats.isConnected)
        let admin = Self.client(port: server.port, password: Self.password)
        defer { _ = admin.close() }
        #expect(try await admin.send(["GET", "k"]) == .bulkString(nil))
    }

    @Test("an ACL user authenticates with its name; a database Redis does not have is refused")
    func aclUserAndBadDatabase() async throws {
        let server = try await RedisServerProcess.start(arguments: ["--requirepass", Self.password])
        defer { server.stop() }
        let admin = Self.client(port: server.port, password: Self.password)
        defer { _ = admin.close() }
        #expect(try await admin.send(["ACL", "SETUSER", "limiter", "on", ">limiter-pw", "~*", "+@all"]) == .simpleString("OK"))
        let user = Self.client(port: server.port, password: "limiter-pw", username: "limiter")
        defer { _ = user.close() }
        #expect(try await user.send(["ACL", "WHOAMI"]) == .bulk("limiter"))

        let outOfRange = Self.client(port: server.port, password: Self.password, database: 99_999)
        defer { _ = outOfRange.close() }
        let error = await #expect(throws: RESPError.self) { try await outOfRange.connect().get() }
        if case .connectFailed(let why)? = error { #expect(why.hasPrefix("redis refused SELECT: ERR"), "\(why)") }
        else { Issue.record("not a connect failure: \(String(describing: error))") }
    }
}
