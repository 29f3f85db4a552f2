import NIOCore
import NIOHTTP1
import Testing

@testable import LeveeProxy

extension UpstreamResponseHead {
    /// All the head's fields as `HTTPHeaders`, hop-by-hop ones included.
    fileprivate var headers: HTTPHeaders { HTTPHeaders(FieldScanner.strings(from: bytes, fields)) }
}

/// What a parser made of some bytes: heads (status and fields), the body, ends.
private struct Parsed: Equatable {
    var heads: [String] = []
    var body = ""
    var ends: [String] = []
    var endsAtClose = false
}

/// Feeds `text` in pieces of `step` bytes (0: all at once) and collects every event.
private func parse(_ text: String, step: Int = 0, toHEAD: Bool = false) throws -> Parsed {
    var parser = UpstreamResponseParser()
    parser.expectResponse(toHEAD: toHEAD)
    var out = Parsed()
    let bytes = Array(text.utf8)
    let size = step == 0 ? max(bytes.count, 1) : step
    for start in stride(from: 0, to: bytes.count, by: size) {
        parser.append(ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)]))
        while let event = try parser.next() {
            switch event {
            case .head(let head):
                let fields = head.headers.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
                out.heads.append("\(head.status.code) \(head.status.reasonPhrase) 1.\(head.version.minor) ka=\(head.keepAlive) [\(fields)]")
            case .body(let body): out.body += String(buffer: body)
            case .end(let trailers, let reusable):
                let fields = (trailers ?? [:]).map { "\($0.name)=\($0.value)" }.joined(separator: ",")
                out.ends.append("reusable=\(reusable) [\(fields)]")
            }
        }
    }
    out.endsAtClose = parser.endsAtClose
    return out
}

/// The reason an invalid response is refused.
private func refusal(_ text: String, toHEAD: Bool = false) -> String? {
    do {
        _ = try parse(text, toHEAD: toHEAD)
        return nil
    } catch let error as MessageSyntaxError {
        return error.reason
    } catch {
        return "\(error)"
    }
}

@Suite struct UpstreamResponseParserTests {
    @Test func contentLengthResponseInOnePieceAndByteByByte() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  spaced value \t\r\n\r\nhello"
        let expected = Parsed(
            heads: ["200 OK 1.1 ka=true [Content-Length=5,X-A=spaced value]"], body: "hello", ends: ["reusable=true []"])
        #expect(try parse(text) == expected)
        #expect(try parse(text, step: 1) == expected)
        #expect(try parse(text, step: 7) == expected)
    }

    @Test func chunkedBodyWithExtensionsAndTrailersInAnyPieces() throws {
        let text =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n6 \r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n"
        let expected = Parsed(
            heads: ["200 OK 1.1 ka=true [Transfer-Encoding=chunked]"], body: "hello world",
            ends: ["reusable=true [X-Checksum=42]"])
        for step in [0, 1, 2, 3, 5, 11] {
            #expect(try parse(text, step: step) == expected, "step \(step)")
        }
    }

    @Test func bareLineFeedsAreAccepted() throws {
        let text = "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n"
        #expect(try parse(text, step: 1).body == "abc")
        #expect(try parse(text).ends == ["reusable=true []"])
    }

    @Test func responsesWithoutABody() throws {
        // HEAD: the length describes the body a GET would have had.
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", toHEAD: true).ends == ["reusable=true []"])
        #expect(try parse("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n").body == "")
        #expect(try parse("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n").ends == ["reusable=true []"])
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").ends == ["reusable=true []"])
    }

    @Test func bodyWithoutLengthEndsAtClose() throws {
        let parsed = try parse("HTTP/1.1 200 OK\r\n\r\nuntil the end", step: 4)
        #expect(parsed.heads == ["200 OK 1.1 ka=false []"])
        #expect(parsed.body == "until the end")
        #expect(parsed.ends.isEmpty)
        #expect(parsed.endsAtClose)
    }

    @Test func keepAliveFollowsVersionAndConnection() throws {
        #expect(try parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").ends == ["reusable=false []"])
        #expect(try parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n").ends == ["reusable=true []"])
        #expect(try parse("HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 0\r\n\r\n").ends == ["reusable=false []"])
    }

    @Test func interimResponsesAreSkipped() throws {
        let parsed = try parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", step: 3)
        #expect(parsed.heads == ["201 Created 1.1 ka=true [Content-Length=2]"])
        #expect(parsed.body == "ok")
    }

    @Test func unknownStatusKeepsItsReasonPhrase() throws {
        #expect(try parse("HTTP/1.1 599 Backend Melted\r\nContent-Length: 0\r\n\r\n").heads == ["599 Backend Melted 1.1 ka=true [Content-Length=0]"])
        #expect(try parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").heads == ["200 OK 1.1 ka=true [Content-Length=0]"])
    }

    @Test func bytesAfterTheResponseMakeTheConnectionNotReusable() throws {
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA").ends == ["reusable=false []"])
    }

    @Test func equalContentLengthsAreOneLength() throws {
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nok").body == "ok")
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 000000000000000000002\r\n\r\nok").body == "ok")
    }

    @Test func malformedResponsesAreRefused() {
        let cases: [(String, String)] = [
            ("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n", "malformed field line"),
            ("HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n", "malformed field line"),
            ("HTTP/1.1 200 OK\r\n: 1\r\n\r\n", "malformed field line"),
            ("HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", "malformed field value"),
            ("HTTP/1.1 200 OK\r\nX-A: a\u{0}b\r\n\r\n", "malformed field value"),
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "both Content-Length and Transfer-Encoding"),
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "conflicting Content-Length values"),
            ("HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n", "conflicting Content-Length values"),
            ("HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n", "malformed Content-Length"),
            ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "malformed Content-Length"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported Transfer-Encoding"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "unsupported Transfer-Encoding"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", "a chunk is longer than its size"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\rX", "a chunk's data does not end with a line end"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", "chunk size too large"),
            ("HTTP/2.0 200 OK\r\n\r\n", "unsupported HTTP version"),
            ("HTTP/1.1 20 OK\r\n\r\n", "malformed status code"),
            ("HTTP/1.1 099 Low\r\n\r\n", "malformed status code"),
            ("HTTP/1.1 200OK\r\n\r\n", "malformed status code"),
            ("ICY 200 OK\r\n\r\n", "malformed status line"),
            ("HTTP/1.1 101 Switching Protocols\r\n\r\n", "101 Switching Protocols without an upgrade"),
        ]
        for (text, reason) in cases {
            #expect(refusal(text) == reason, "\(text.debugDescription)")
        }
    }

    @Test func oversizedHeadsAndChunkLinesAreRefusedBeforeTheyEnd() {
        let huge = "HTTP/1.1 200 OK\r\nX-A: " + String(repeating: "a", count: UpstreamResponseParser.maxHeadBytes)
        #expect(refusal(huge) == "head larger than \(UpstreamResponseParser.maxHeadBytes) bytes")
        let longExtension = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "x", count: 5000)
        #expect(refusal(longExtension) == "chunk-size line too long")
    }

    @Test func forwardedFieldsDropHopByHopAndConnectionNamedOnes() throws {
        var parser = UpstreamResponseParser()
        parser.append(
            ByteBuffer(
                string: "HTTP/1.1 200 OK\r\nConnection: X-Secret, keep-alive\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n"
                    + "Content-Length: 2\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Connection: x\r\nx-secret: 2\r\nX-Kept: yes\r\n\r\nok"))
        guard case .head(let head) = try parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(head.connectionNamesFields)
        #expect(head.headers.first(name: "x-kept") == "yes")
        var kept: [String] = []
        let hasLength = head.forEachForwardedField(dropContentLength: false) { name, value in
            kept.append(String(decoding: name, as: UTF8.self) + "=" + String(decoding: value, as: UTF8.self))
        }
        #expect(hasLength)
        #expect(kept == ["Content-Length=2", "X-Kept=yes"])
        kept = []
        _ = head.forEachForwardedField(dropContentLength: true) { name, _ in kept.append(String(decoding: name, as: UTF8.self)) }
        #expect(kept == ["X-Kept"])
    }
}
