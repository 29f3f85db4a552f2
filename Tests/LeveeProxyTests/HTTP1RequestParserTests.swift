import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import LeveeProxy

/// A request's parts flattened for comparison: heads, the body, ends (with trailers).
private func describe(_ parts: [HTTPServerRequestPart]) -> [String] {
    var out: [String] = []
    var body = ""
    for part in parts {
        switch part {
        case .head(let head):
            let fields = head.headers.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
            out.append("head \(head.method.rawValue) \(head.uri) \(head.version) [\(fields)]")
        case .body(let bytes): body += String(buffer: bytes)
        case .end(let trailers):
            if !body.isEmpty { out.append("body \(body)") }
            body = ""
            out.append("end [\((trailers ?? [:]).map { "\($0.name)=\($0.value)" }.joined(separator: ","))]")
        }
    }
    return out
}

/// What `HTTP1RequestParser` makes of `text` fed `step` bytes at a time (0: at once).
private func parse(_ text: String, step: Int = 0, limits: LimitsConfiguration = LimitsConfiguration()) throws -> [HTTPServerRequestPart] {
    var parser = HTTP1RequestParser(limits: limits)
    var parts: [HTTPServerRequestPart] = []
    let bytes = Array(text.utf8)
    let size = step == 0 ? max(bytes.count, 1) : step
    for start in stride(from: 0, to: bytes.count, by: size) {
        parser.append(ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)]))
        while let part = try parser.next() { parts.append(part) }
    }
    return parts
}

/// What NIO's decoder (llhttp) makes of the same bytes.
private func parseWithNIO(_ text: String) throws -> [HTTPServerRequestPart] {
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
    try channel.writeInbound(ByteBuffer(string: text))
    var parts: [HTTPServerRequestPart] = []
    while let part = try channel.readInbound(as: HTTPServerRequestPart.self) { parts.append(part) }
    _ = try? channel.finish()
    return parts
}

private func syntaxError(_ text: String, limits: LimitsConfiguration = LimitsConfiguration()) -> MessageSyntaxError? {
    do {
        _ = try parse(text, limits: limits)
        return nil
    } catch let error as MessageSyntaxError {
        return error
    } catch {
        return MessageSyntaxError(reason: "\(error)")
    }
}

@Suite struct HTTP1RequestParserTests {
    /// Valid requests of every framing give the same parts as NIO's decoder, whatever the pieces.
    @Test(arguments: [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /x?y=1 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nX-Empty:\r\nX-Spaced:  v  w\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 9\r\n\r\n",
        "HEAD / HTTP/1.1\r\nHost: a\r\n\r\nDELETE /d HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nokOPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        "PATCH /u%20v HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    ])
    func sameAsNIOsDecoder(_ text: String) throws {
        let expected = describe(try parseWithNIO(text))
        #expect(!expected.isEmpty)
        for step in [0, 1, 2, 7] {
            let got = describe(try parse(text, step: step))
            #expect(got == expected, "step \(step): \(got) vs \(expected)")
        }
    }

    /// The one difference from llhttp: whitespace after a value is not part of it (RFC 9110 §5.5).
    @Test func trailingWhitespaceIsNotPartOfAValue() throws {
        #expect(describe(try parse("GET / HTTP/1.1\r\nHost: a \t\r\n\r\n")).first == "head GET / HTTP/1.1 [Host=a]")
    }

    /// Leading zeros are part of a valid length (as `RequestValidation` reads it); a length too
    /// large for an `Int` is refused by both.
    @Test func contentLengthWithLeadingZerosIsALength() throws {
        let zeros = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000000000002\r\n\r\nok"
        #expect(describe(try parse(zeros)).suffix(2) == ["body ok", "end []"])
        let huge = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        let parts = try parse(huge)
        #expect(parts.count == 1)
        if case .head(let head) = parts.first {
            guard case .failure = RequestValidation.validate(head, limits: LimitsConfiguration()) else {
                Issue.record("an overflowing length must be refused")
                return
            }
        }
    }

    @Test func emptyLinesBeforeARequestAreSkipped() throws {
        #expect(describe(try parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")) == ["head GET / HTTP/1.1 [Host=a]", "end []"])
    }

    @Test func unknownMethodsAndVersionsAsNIOSaw() throws {
        #expect(describe(try parse("PROPFIND /d HTTP/1.1\r\nHost: a\r\n\r\n")).first == "head PROPFIND /d HTTP/1.1 [Host=a]")
        // A version RequestValidation answers with 505.
        #expect(describe(try parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n")).first == "head GET / HTTP/2.0 [Host=a]")
    }

    @Test func malformedRequestsAreErrors() {
        let cases: [(String, String)] = [
            ("GET / HTTP/1.1\nHost: a\n\n", "line not ended by CRLF"),
            ("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "malformed field line"),
            ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", "malformed field line"),
            ("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "malformed field value"),
            ("GET / HTTP/1.1\r\nHost: a\u{1}b\r\n\r\n", "malformed field value"),
            ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
            ("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
            ("GET / HTTP/1.10\r\nHost: a\r\n\r\n", "malformed request line"),
            ("GET / HTTPS/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
            ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
            ("BREW / HTTP/1.1\r\nHost: a\r\n\r\n", "unknown method"),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size"),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n", "a chunk is longer than its size"),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\nhi\r\n0\r\n\r\n", "line not ended by CRLF"),
        ]
        for (text, reason) in cases {
            #expect(syntaxError(text) == MessageSyntaxError(reason: reason), "\(text.debugDescription)")
        }
    }

    @Test func oversizedHeadsAreTooLarge() {
        var limits = LimitsConfiguration()
        limits.maxRequestLineBytes = 100
        limits.maxHeaderBytes = 200
        limits.maxHeaderCount = 5
        let long = "GET /" + String(repeating: "a", count: 400)
        #expect(syntaxError(long, limits: limits)?.tooLarge == true)
        let many = "GET / HTTP/1.1\r\n" + (0..<6).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        #expect(syntaxError(many, limits: limits) == MessageSyntaxError(reason: "too many fields", tooLarge: true))
    }

    /// Framing `RequestValidation` refuses: the head comes out, then nothing (it answers 400 and closes).
    @Test(arguments: [
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    ])
    func refusedFramingStopsAfterTheHead(_ text: String) throws {
        let parts = try parse(text)
        #expect(parts.count == 1)
        guard case .head(let head) = parts.first else {
            Issue.record("no head")
            return
        }
        guard case .failure = RequestValidation.validate(head, limits: LimitsConfiguration()) else {
            Issue.record("RequestValidation would accept what the parser stopped at")
            return
        }
    }
}

@Suite struct HTTPByteClassTests {
    /// The bit masks hold exactly RFC 9110's `tchar`s.
    @Test func tokenBytesAreRFC9110Tchars() {
        let tchars = Set(Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&'*+-.^_`|~".utf8))
        for byte in UInt8.min...UInt8.max {
            #expect(byte.isTokenByte == tchars.contains(byte), "byte \(byte)")
        }
    }
}

@Suite struct SectionEndSearchTests {
    /// The end is found at the byte that completes it, whatever the pieces, and not before.
    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", false),
        ("HTTP/1.1 200 OK\nA: b\n\n", false),
        ("\r\n", true),
        ("X-Trailer: 1\r\n\r\n", true),
    ])
    func endFoundExactlyWhenItArrives(_ text: String, _ emptyAtStart: Bool) {
        let bytes = Array(text.utf8)
        var search = SectionEndSearch()
        for count in 1...bytes.count {
            let found = bytes[..<count].withUnsafeBytes { search.hasEnd(in: $0, emptyAtStart: emptyAtStart) }
            #expect(found == (count == bytes.count), "after \(count) of \(bytes.count) bytes")
            if found { break }
        }
    }

    @Test func noEndInAHeadWithoutItsEmptyLine() {
        var search = SectionEndSearch()
        let bytes = Array("GET / HTTP/1.1\r\nA: b\r\nC: d\r\n".utf8)
        #expect(!bytes.withUnsafeBytes { search.hasEnd(in: $0, emptyAtStart: false) })
        #expect(!bytes.withUnsafeBytes { search.hasEnd(in: $0, emptyAtStart: false) })
    }
}
