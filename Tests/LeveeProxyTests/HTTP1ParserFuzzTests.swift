import LeveeTestSupport
import NIOCore
import NIOHTTP1
import Testing

@testable import LeveeProxy

/// Mutated messages, fed in random pieces, through both in-place parsers: each either parses or
/// throws `MessageSyntaxError`, and never gives out more body bytes than it was given. (Test
/// builds check every index; the parsers index raw buffers that release builds do not check.)
@Suite struct HTTP1ParserFuzzTests {
    static let requests = [
        "GET /a?b=c HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
    ]
    static let responses = [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, x-a\r\nX-A: 1\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
        "HTTP/1.0 599 Odd\r\n\r\nuntil close",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    ]
    static let alphabet = Array("\r\n :;,0123456789abcdefHTP/.\t\u{0}\u{7f}\u{ff}".utf8)

    /// `text` with a few random bytes replaced, inserted or removed, in random pieces.
    static func mutations(of text: String, count: Int, seed: UInt64) -> [[ByteBuffer]] {
        var random = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            var bytes = Array(text.utf8)
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = alphabet.randomElement(using: &random)!
                case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: at)
                default: if bytes.count > 1 { bytes.remove(at: at) }
                }
            }
            var pieces: [ByteBuffer] = []
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + Int.random(in: 1...16, using: &random))
                pieces.append(ByteBuffer(bytes: bytes[start..<end]))
                start = end
            }
            return pieces
        }
    }

    /// Feeds `pieces` through `parse` (append one, then take events until nil), stopping at a
    /// syntax error; returns the body bytes given out against the bytes given in.
    static func feed(_ pieces: [ByteBuffer], _ parse: (ByteBuffer) throws -> Int) -> (body: Int, given: Int) {
        var given = 0
        var body = 0
        do {
            for piece in pieces {
                given += piece.readableBytes
                body += try parse(piece)
            }
        } catch is MessageSyntaxError {
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return (body, given)
    }

    @Test func mutatedRequestsParseOrFailCleanly() {
        for (index, text) in Self.requests.enumerated() {
            for pieces in Self.mutations(of: text, count: 3000, seed: UInt64(index + 1)) {
                var parser = HTTP1RequestParser(limits: LimitsConfiguration())
                let (body, given) = Self.feed(pieces) { piece in
                    parser.append(piece)
                    var bodyBytes = 0
                    while let part = try parser.next() {
                        if case .body(let body) = part { bodyBytes += body.readableBytes }
                    }
                    return bodyBytes
                }
                #expect(body <= given)
            }
        }
    }

    @Test func mutatedResponsesParseOrFailCleanly() {
        for (index, text) in Self.responses.enumerated() {
            for pieces in Self.mutations(of: text, count: 3000, seed: UInt64(index + 100)) {
                var parser = UpstreamResponseParser()
                let (body, given) = Self.feed(pieces) { piece in
                    parser.append(piece)
                    var bodyBytes = 0
                    while let event = try parser.next() {
                        switch event {
                        case .body(let body): bodyBytes += body.readableBytes
                        case .head(let head):
                            // Every forwarded field lies inside the head's bytes.
                            _ = head.forEachForwardedField(dropContentLength: false) { name, value in
                                #expect(!name.isEmpty && name.count + value.count < head.bytes.readableBytes)
                            }
                        case .end: parser.expectResponse(toHEAD: false)
                        }
                    }
                    return bodyBytes
                }
                #expect(body <= given)
            }
        }
    }
}
