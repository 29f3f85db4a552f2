import Foundation
import LeveeTestSupport
import Logging
import ServiceLifecycle
import Testing

@testable import LeveeProxy

@Suite("Access log")
struct AppAccessLogTests {
    static func entry(_ i: Int, uri: String = "/x") -> AccessLogEntry {
        AccessLogEntry(
            time: 1_700_000_000.5, client: "127.0.0.1", method: "GET", uri: uri, host: "h", route: "web",
            upstream: "127.0.0.1:9000", status: 200, bytesIn: i, bytesOut: 10, duration: 0.0125, userAgent: "curl/8")
    }

    @Test("entries are written as JSON lines that parse back, strings escaped")
    func jsonLines() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/access.log"
        let logger = AccessLogger(path: path, logger: Logger(label: "test"))
        try logger.open()
        logger.log(Self.entry(1, uri: "/quote\"back\\slash\nnewline\u{01}"))
        logger.log(Self.entry(2))
        logger.flush()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["uri"] as? String == "/quote\"back\\slash\nnewline\u{01}")
        #expect(first["status"] as? Int == 200)
        #expect(first["bytes_in"] as? Int == 1)
        #expect(first["duration_ms"] as? Double == 12.5)
        #expect(first["time"] as? Double == 1_700_000_000.5)
        #expect(first["upstream"] as? String == "127.0.0.1:9000")
    }

    @Test("a full buffer drops and counts instead of blocking")
    func boundedBuffer() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/access.log"
        let logger = AccessLogger(path: path, capacity: 3, logger: Logger(label: "test"))
        try logger.open()
        for i in 0..<5 { logger.log(Self.entry(i)) }
        #expect(logger.droppedEntries == 2)
        logger.flush()
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 3)
    }

    @Test("the service flushes on its own and once more at graceful shutdown, from many threads")
    func serviceFlushes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/access.log"
        let logger = AccessLogger(path: path, flushInterval: .milliseconds(20), logger: Logger(label: "test"))
        let group = ServiceGroup(services: [logger], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        await withTaskGroup(of: Void.self) { writers in
            for w in 0..<4 {
                writers.addTask { for i in 0..<250 { logger.log(Self.entry(w * 1000 + i)) } }
            }
        }
        let flushedWhileRunning = await waitUntil {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").count == 1000
        }
        #expect(flushedWhileRunning)
        logger.log(Self.entry(9999))
        await group.triggerGracefulShutdown()
        try await running.value
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1001)
        #expect(logger.droppedEntries == 0)
    }

    @Test("a proxied request produces one JSON line from the data path")
    func dataPathLogs() async throws {
        let backend = try await TestHTTPServer.start { _ in TestResponse(text: "from backend") }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let logPath = directory.path + "/access.log"
        let configuration = AppLifecycleTests.configuration(
            upstreamPort: backend.port, route: "logged", extra: "\n[access_log]\npath = \"\(logPath)\"\n")
        let file = try directory.write("levee.toml", configuration)

        try await AppLifecycleTests.withApplication(file: file) { app in
            let logger = try #require(app.accessLogger)
            let proxied = try await httpRequest(
                port: app.proxyPort, method: "POST", path: "/submit?x=1", headers: ["User-Agent": "probe/1"], body: "12345")
            #expect(proxied.statusCode == 200 && proxied.bodyString == "from backend")
            let written = await waitUntil {
                logger.flush()
                return ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").count >= 1
            }
            #expect(written)
            let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 1)
            let line = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
            #expect(line["method"] as? String == "POST")
            #expect(line["uri"] as? String == "/submit?x=1")
            #expect(line["status"] as? Int == 200)
            #expect(line["bytes_in"] as? Int == 5)
            #expect(line["bytes_out"] as? Int == "from backend".utf8.count)
            #expect(line["client"] as? String == "127.0.0.1")
            #expect(line["route"] as? String == "logged")
            #expect(line["upstream"] as? String == "127.0.0.1:\(backend.port)")
            #expect(line["user_agent"] as? String == "probe/1")
            let duration = try #require(line["duration_ms"] as? Double)
            #expect(duration >= 0 && duration < 60_000)
            let time = try #require(line["time"] as? Double)
            #expect(abs(time - Date().timeIntervalSince1970) < 600)
        }
        await backend.shutdown()
    }
}
