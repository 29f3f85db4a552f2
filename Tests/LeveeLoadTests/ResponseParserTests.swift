import NIOCore
import Testing
@testable import LeveeLoad

@Suite("ResponseParser")
struct ResponseParserTests {
    /// Feeds `chunks` one by one and collects every completed response.
    func parseAll(_ chunks: [String], head: Bool = false) throws -> [ResponseParser.Response] {
        var parser = ResponseParser()
        parser.expectNoBody = head
        var out: [ResponseParser.Response] = []
        for chunk in chunks {
            var buffer = ByteBuffer(string: chunk)
            while buffer.readableBytes > 0, let r = try parser.parse(&buffer) { out.append(r) }
            #expect(buffer.readableBytes == 0)
        }
        return out
    }

    @Test func contentLengthAndKeepAlive() throws {
        let r = try parseAll(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"])
        #expect(r.map(\.status) == [200, 404])
        #expect(r[0].bodyBytes == 5)
        #expect(r.allSatisfy { $0.keepAlive })
    }

    @Test func splitAnywhere() throws {
        let whole = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nRateLimit-Policy: 10;w=1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
        for cut in 1..<whole.utf8.count {
            let bytes = Array(whole.utf8)
            let r = try parseAll([String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)])
            #expect(r.count == 1)
            #expect(r.first == .init(status: 429, keepAlive: false, retryAfter: true, rateLimit: true, bodyBytes: 3))
        }
    }

    @Test func chunkedBodyWithTrailers() throws {
        let r = try parseAll(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;x=y\r\npedia\r\n",
                              "0\r\nX-Trailer: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"])
        #expect(r.map(\.status) == [200, 204])
        #expect(r[0].bodyBytes == 9)
    }

    @Test func headResponseHasNoBody() throws {
        let r = try parseAll(["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"], head: true)
        #expect(r.map(\.status) == [200])
    }

    @Test func interimResponseIsSkipped() throws {
        let r = try parseAll(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"])
        #expect(r.map(\.status) == [201])
    }

    @Test func bodyUntilCloseAndHTTP10() throws {
        var parser = ResponseParser()
        var buffer = ByteBuffer(string: "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nsome body")
        #expect(try parser.parse(&buffer) == nil)
        let r = parser.connectionClosed()
        #expect(r?.status == 200 && r?.keepAlive == false && r?.bodyBytes == 9)
    }

    @Test func garbageIsAnError() {
        var parser = ResponseParser()
        var buffer = ByteBuffer(string: "SSH-2.0-OpenSSH\r\n")
        #expect(throws: ResponseParser.ParseError.malformedStatusLine) { try parser.parse(&buffer) }
    }
}
