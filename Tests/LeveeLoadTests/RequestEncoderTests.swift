import NIOCore
import NIOHTTP1
import Testing
@testable import LeveeLoad

@Suite("Request and PROXY header encoding")
struct RequestEncoderTests {
    @Test func encodesHeadersBodyAndPadding() {
        var c = TrafficClass(name: "x")
        c.headers = [("User-Agent", "levee"), ("Host", "shop.test")]
        c.body = "abc"
        c.extraHeaderCount = 2
        c.oversizedHeaderBytes = 5
        c.newConnectionPerRequest = true
        let e = RequestEncoder(hostHeader: "127.0.0.1:8080", trafficClass: c)
        let text = String(buffer: e.encode(method: "POST", path: "/p?q=1", forwardedFor: "127.0.0.9"))
        #expect(text == "POST /p?q=1 HTTP/1.1\r\nHost: shop.test\r\nUser-Agent: levee\r\nX-Forwarded-For: 127.0.0.9\r\n"
                + "X-Levee-Pad-0: x\r\nX-Levee-Pad-1: x\r\nX-Levee-Big: aaaaa\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc")
    }

    @Test func http2HeadCarriesTheSameFields() {
        var c = TrafficClass(name: "x")
        c.headers = [("User-Agent", "levee"), ("Host", "shop.test")]
        c.body = "abc"
        c.extraHeaderCount = 1
        c.oversizedHeaderBytes = 3
        let e = RequestEncoder(hostHeader: "127.0.0.1:8080", trafficClass: c)
        let head = e.head(method: "POST", path: "/p?q=1", forwardedFor: "127.0.0.9")
        #expect(head.method == .POST && head.uri == "/p?q=1")
        #expect(head.headers.map { "\($0.name): \($0.value)" } == [
            "Host: shop.test", "User-Agent: levee", "X-Forwarded-For: 127.0.0.9", "X-Levee-Pad-0: x", "X-Levee-Big: aaa",
            "Content-Length: 3",
        ])
        #expect(e.bodyBuffer.map { String(buffer: $0) } == "abc")
        let get = RequestEncoder(hostHeader: "h", trafficClass: TrafficClass(name: "y")).head(method: "PUT", path: "/")
        #expect(get.headers.map { "\($0.name): \($0.value)" } == ["Host: h", "Content-Length: 0"])
    }

    @Test func proxyProtocolHeaders() {
        let v1 = ProxyProtocolHeader.v1(source: "127.1.2.3", destination: "127.0.0.1", sourcePort: 5000, destinationPort: 8080)
        #expect(String(buffer: v1) == "PROXY TCP4 127.1.2.3 127.0.0.1 5000 8080\r\n")
        let v2 = ProxyProtocolHeader.v2(source: "127.1.2.3", destination: "127.0.0.1", sourcePort: 5000, destinationPort: 8080)
        #expect(Array(v2.readableBytesView) == [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
                                                 0x21, 0x11, 0x00, 0x0C, 127, 1, 2, 3, 127, 0, 0, 1, 0x13, 0x88, 0x1F, 0x90])
    }

    @Test func coarseHistogramPercentiles() {
        var h = CoarseHistogram()
        for v in 1...1000 { h.record(micros: UInt64(v)) }
        let p50 = h.percentile(50), p99 = h.percentile(99)
        #expect(p50 >= 500 && p50 <= 640)  // within one bucket (~19%) above the true value
        #expect(p99 >= 990 && p99 <= 1280)
        #expect(CoarseHistogram().percentile(99) == 0)
    }
}
