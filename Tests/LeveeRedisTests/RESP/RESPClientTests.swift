import LeveeRESP
import LeveeTestSupport
import NIOCore
import NIOPosix
import Logging
import Testing

@Suite("RESP client against a real redis-server", .redisServer)
struct RESPClientTests {
    static func client(port: Int, commandTimeout: Duration = .seconds(5)) -> RESPClient {
        RESPClient(
            configuration: RESPClientConfiguration(port: port, connectTimeout: .seconds(5), commandTimeout: commandTimeout,
                                                   backoff: RESPBackoff(initial: .milliseconds(10), maximum: .milliseconds(100))),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: quietLogger)
    }

    @Test("commands and every reply type from Redis")
    func replyTypes() async throws {
        let server = try RedisServerTrait.server()
        let client = Self.client(port: server.port)
        defer { _ = client.close() }
        try await client.connect().get()
        #expect(try await client.send(["PING"]) == .simpleString("PONG"))
        #expect(try await client.send(["SET", "rt:k", "v\r\n1"]) == .simpleString("OK"))
        #expect(try await client.send(["GET", "rt:k"]) == .bulk("v\r\n1"))
        #expect(try await client.send(["GET", "rt:missing"]) == .bulkString(nil))
        #expect(try await client.send(["INCRBY", "rt:n", "-5"]) == .integer(-5))
        #expect(try await client.send(["RPUSH", "rt:l", "a", "b"]) == .integer(2))
        #expect(try await client.send(["LRANGE", "rt:l", "0", "-1"]) == .array([.bulk("a"), .bulk("b")]))
        #expect(try await client.send(["BLPOP", "rt:empty", "0.01"]) == .array(nil))
        await #expect(throws: RESPError.server(code: "ERR", message: "ERR unknown command 'NOPE', with args beginning with: ")) {
            try await client.send(["NOPE"])
        }
        let errorReply = await #expect(throws: RESPError.self) { try await client.send(["LPUSH", "rt:k", "x"]) }
        if case .server(let code, _)? = errorReply { #expect(code == "WRONGTYPE") } else { Issue.record("not a server error: \(String(describing: errorReply))") }
        // An error reply does not disturb the connection.
        #expect(try await client.send(["ECHO", "still here"]) == .bulk("still here"))
        let stats = client.statistics
        #expect(stats.isConnected && stats.serverErrors == 2 && stats.connects == 1)
    }

    @Test("many concurrent pipelined commands each get their own reply, in order")
    func pipelining() async throws {
        let server = try RedisServerTrait.server()
        let client = Self.client(port: server.port)
        defer { _ = client.close() }
        try await client.connect().get()
        let count = 2_000
        // Sent from many tasks at once: every reply must match its own command.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<count {
                group.addTask {
                    let reply = try await client.send(["ECHO", "message-\(i)"])
                    #expect(reply == .bulk("message-\(i)"))
                }
            }
            try await group.waitForAll()
        }
        // Futures sent back to back from one thread complete in the order they were sent.
        let futures = (0..<count).map { _ in client.submit(["INCR", "pipe:counter"]) }
        var previous: Int64 = 0
        for future in futures {
            let value = try await future.get().int64 ?? -1
            #expect(value == previous + 1)
            previous = value
        }
        #expect(client.statistics.connects == 1, "everything on one connection")
    }

    @Test("EVALSHA loads the script on NOSCRIPT (after SCRIPT FLUSH) and retries")
    func evalSHAFallback() async throws {
        let server = try RedisServerTrait.server()
        let client = Self.client(port: server.port)
        defer { _ = client.close() }
        let script = RESPScript("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}")
        let first = try await client.evalSHA(script, keys: ["script:n"], arguments: ["a"])
        #expect(first == .array([.bulk("script:n"), .bulk("a"), .integer(1)]))
        // Our SHA-1 is the one Redis computes.
        #expect(try await client.send(["SCRIPT", "LOAD", script.source]).string == script.sha1)
        #expect(try await client.send(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(1)]))
        #expect(try await client.send(["SCRIPT", "FLUSH"]) == .simpleString("OK"))
        #expect(try await client.send(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(0)]))
        let errorsBefore = client.statistics.serverErrors
        let second = try await client.evalSHA(script, keys: ["script:n"], arguments: ["b"])
        #expect(second == .array([.bulk("script:n"), .bulk("b"), .integer(2)]))
        #expect(client.statistics.serverErrors == errorsBefore + 1, "exactly one NOSCRIPT on the way")
        // A script that fails reports Redis's error, typed.
        let broken = RESPScript("return redis.call('NOPE')")
        await #expect(throws: RESPError.self) { try await client.evalSHA(broken, keys: [], arguments: []) }
    }

    @Test("a command without a reply in time fails with .timeout; the client reconnects by itself")
    func commandTimeout() async throws {
        let server = try RedisServerTrait.server()
        let client = Self.client(port: server.port, commandTimeout: .milliseconds(100))
        defer { _ = client.close() }
        try await client.connect().get()
        // DEBUG SLEEP holds the server for 0.5 s: this command and the one pipelined behind it
        // cannot be answered in time.
        let sleeping = client.submit(["DEBUG", "SLEEP", "0.5"])
        let behind = client.submit(["PING"])
        await #expect(throws: RESPError.timeout) { try await sleeping.get() }
        await #expect(throws: RESPError.connectionClosed) { try await behind.get() }
        // Poll with a deadline until the reconnect happened and a command succeeds.
        let deadline = ContinuousClock.now + .seconds(10)
        var reply: RESPValue?
        while reply == nil, ContinuousClock.now < deadline {
            reply = try? await client.send(["PING"])
            if reply == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(reply == .simpleString("PONG"))
        #expect(client.statistics.timeouts >= 1, "the sleeping server times out at least this command")
        #expect(client.statistics.connects >= 2)
    }

    @Test("nothing listening: connect fails, commands fail fast, never hang")
    func refused() async throws {
        let port = try await RedisServerProcess.freeLoopbackPort()
        let client = Self.client(port: port)
        defer { _ = client.close() }
        await #expect(throws: RESPError.self) { try await client.connect().get() }
        await #expect(throws: RESPError.self) { try await client.send(["PING"]) }
        #expect(client.statistics.connectFailures >= 1)
        #expect(!client.statistics.isConnected)
    }

    @Test("a server killed and started again on the same port: the client reconnects without a restart")
    func reconnect() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let client = Self.client(port: server.port)
        defer { _ = client.close() }
        #expect(try await client.send(["SET", "r", "1"]) == .simpleString("OK"))
        server.kill()
        await #expect(throws: RESPError.self) { try await client.send(["GET", "r"]) }
        let again = try await RedisServerProcess.start(port: server.port)
        defer { again.stop() }
        let deadline = ContinuousClock.now + .seconds(10)
        var reply: RESPValue?
        while reply == nil, ContinuousClock.now < deadline {
            reply = try? await client.send(["PING"])
            if reply == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(reply == .simpleString("PONG"))
        #expect(client.statistics.connects >= 2)
        #expect(client.statistics.isConnected)
    }
}
