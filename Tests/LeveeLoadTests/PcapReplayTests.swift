import Foundation
import LeveeTestSupport
import Synchronization
import Testing
@testable import LeveeLoad

/// Writes classic pcap files of Ethernet/IPv4/TCP frames, so that replay is tested on a capture
/// whose content the test knows exactly.
struct PcapWriter {
    var bytes: [UInt8] = []

    init() {
        append32(0xA1B2_C3D4); append16(2); append16(4); append32(0); append32(0); append32(65535); append32(1)
    }

    mutating func append16(_ v: UInt16) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8)] }  // file header: little endian
    mutating func append32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }

    /// One frame from 10.0.0.`client`:`port` to 10.0.0.1:80.
    mutating func segment(at micros: UInt64, client: UInt8, port: UInt16, seq: UInt32, syn: Bool = false, payload: String = "") {
        let data = Array(payload.utf8)
        var f: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]
        let total = 40 + data.count
        f += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, client, 10, 0, 0, 1]
        f += [UInt8(port >> 8), UInt8(port & 0xFF), 0, 80]
        f += [UInt8(seq >> 24), UInt8(seq >> 16 & 0xFF), UInt8(seq >> 8 & 0xFF), UInt8(seq & 0xFF), 0, 0, 0, 0]
        f += [0x50, syn ? 0x02 : 0x18, 0xFF, 0xFF, 0, 0, 0, 0]
        f += data
        append32(UInt32(micros / 1_000_000)); append32(UInt32(micros % 1_000_000))
        append32(UInt32(f.count)); append32(UInt32(f.count))
        bytes += f
    }

    func write(to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
}

@Suite("pcap replay")
struct PcapReplayTests {
    static func capture() throws -> String {
        var w = PcapWriter()
        let t0: UInt64 = 1_700_000_000_000_000
        // Flow A: handshake, a request split over two segments delivered out of order, a retransmission,
        // then a POST with a body.
        w.segment(at: t0, client: 2, port: 40000, seq: 999, syn: true)
        let a1 = "GET /one HTTP/1.1\r\nHost: shop\r\n"
        let a2 = "\r\n"
        let a3 = "POST /two HTTP/1.1\r\nHost: shop\r\nContent-Length: 4\r\n\r\nabcd"
        w.segment(at: t0 + 1000, client: 2, port: 40000, seq: 1000, payload: a1)
        w.segment(at: t0 + 1500, client: 2, port: 40000, seq: 1000, payload: a1)  // retransmitted
        w.segment(at: t0 + 2000, client: 2, port: 40000, seq: 1000 + UInt32(a1.utf8.count), payload: a2)
        w.segment(at: t0 + 200_000, client: 2, port: 40000, seq: 1000 + UInt32((a1 + a2).utf8.count), payload: a3)
        // Flow B, between the two: a chunked request and a HEAD.
        let b = "PUT /three HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n"
        w.segment(at: t0 + 100_000, client: 3, port: 40001, seq: 5000, payload: b)
        w.segment(at: t0 + 300_000, client: 3, port: 40001, seq: 5000 + UInt32(b.utf8.count),
                  payload: "HEAD /four HTTP/1.1\r\nHost: shop\r\n\r\n")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("levee-replay-\(UInt32.random(in: 0...UInt32.max)).pcap").path
        try w.write(to: path)
        return path
    }

    @Test func readsRequestsInCaptureOrder() throws {
        let path = try Self.capture()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let requests = try CaptureReader.requests(file: path)
        #expect(requests.map { String(decoding: $0.bytes.prefix(while: { $0 != 13 }), as: UTF8.self) }
                == ["GET /one HTTP/1.1", "PUT /three HTTP/1.1", "POST /two HTTP/1.1", "HEAD /four HTTP/1.1"])
        #expect(requests.map { ($0.timestamp - requests[0].timestamp) / 1000 } == [0, 99_000, 199_000, 299_000])  // first bytes at +1 ms, +100, +200, +300 ms
        #expect(String(decoding: requests[2].bytes, as: UTF8.self).hasSuffix("\r\n\r\nabcd"))
        #expect(throws: LoadError.self) { try CaptureReader.requests(file: "/nonexistent/capture.pcap") }
    }

    @Test func replaySendsTheSameRequestsInOrder() async throws {
        let path = try Self.capture()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let seen = Mutex<[String]>([])
        let server = try await TestHTTPServer.start { request in
            let body = String(buffer: request.body)
            seen.withLock { $0.append("\(request.head.method.rawValue) \(request.head.uri) \(body)") }
            return TestResponse(text: "ok")
        }
        var c = TrafficClass(name: "replay")
        c.profile = .pcapReplay(file: path, speed: 4, port: 80)
        // Generous bounds: the run ends after the 4 requests; the bounds only matter on a starved machine.
        let s = Scenario(target: try LoadTarget(url: server.baseURL + "/"), duration: 30_000_000_000, threads: 1,
                         timeout: 20_000_000_000, classes: [c])
        let report = try await LoadEngine(scenario: s).run()
        await server.shutdown()
        #expect(seen.withLock { $0 } == ["GET /one ", "PUT /three xyz", "POST /two abcd", "HEAD /four "])
        #expect(report.classes["replay"]?.mode == "replay" && report.total.completed == 4)
        // Timing scaled by 4: the last request goes out about 75 ms after the first.
        #expect(report.total.elapsedS >= 0.07)
    }
}
