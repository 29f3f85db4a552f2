import LeveeRESP
import NIOCore
import Testing

@Suite("RESP parser")
struct RESPParserTests {
    /// Every RESP2 type, with the bytes that encode it.
    static let cases: [(String, RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\u{e9}t\u{e9}\r\n", .simpleString("\u{e9}t\u{e9}")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(.max)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$5\r\nhello\r\n", .bulk("hello")),
        ("$0\r\n\r\n", .bulk("")),
        ("$4\r\na\r\nb\r\n", .bulk("a\r\nb")),
        ("$-1\r\n", .bulkString(nil)),
        ("*0\r\n", .array([])),
        ("*-1\r\n", .array(nil)),
        ("*3\r\n:1\r\n$1\r\nx\r\n+y\r\n", .array([.integer(1), .bulk("x"), .simpleString("y")])),
        ("*2\r\n*2\r\n:1\r\n*0\r\n\r\n*1\r\n$-1\r\n".replacingOccurrences(of: "*0\r\n\r\n", with: "*0\r\n"),
         .array([.array([.integer(1), .array([])]), .array([.bulkString(nil)])])),
        ("*3\r\n*-1\r\n-ERR inner\r\n*1\r\n*1\r\n*1\r\n:7\r\n",
         .array([.array(nil), .error("ERR inner"), .array([.array([.array([.integer(7)])])])])),
    ]

    @Test("each type parses whole", arguments: 0..<cases.count)
    func whole(index: Int) throws {
        let (text, expected) = Self.cases[index]
        var parser = RESPParser()
        var buffer = ByteBuffer(string: text)
        #expect(try parser.next(from: &buffer) == expected)
        #expect(buffer.readableBytes == 0)
        #expect(try parser.next(from: &buffer) == nil)
    }

    @Test("each type encodes to the same bytes", arguments: 0..<cases.count)
    func encodes(index: Int) {
        let (text, value) = Self.cases[index]
        var buffer = ByteBuffer()
        value.encode(into: &buffer)
        #expect(String(buffer: buffer) == text)
    }

    @Test("all values in one stream, split in two at every byte position")
    func splitAtEveryPosition() throws {
        let stream = Self.cases.map(\.0).joined()
        let expected = Self.cases.map(\.1)
        let bytes = Array(stream.utf8)
        for split in 0...bytes.count {
            var parser = RESPParser()
            var buffer = ByteBuffer(bytes: bytes[..<split])
            var values: [RESPValue] = []
            while let value = try parser.next(from: &buffer) { values.append(value) }
            buffer.writeBytes(bytes[split...])
            while let value = try parser.next(from: &buffer) { values.append(value) }
            #expect(values == expected, "split at \(split)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test("all values in one stream, fed one byte at a time")
    func byteByByte() throws {
        let stream = Self.cases.map(\.0).joined()
        var parser = RESPParser()
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for byte in stream.utf8 {
            buffer.writeInteger(byte)
            while let value = try parser.next(from: &buffer) { values.append(value) }
        }
        #expect(values == Self.cases.map(\.1))
        #expect(!parser.isMidValue)
    }

    @Test("malformed input is a protocol violation", arguments: [
        "?x\r\n", ":12a\r\n", ":\r\n", "$-2\r\n", "*-5\r\n", "$3\r\nabcd\r\n", "+OK\rX", "\r\n",
        ":99999999999999999999\r\n", "$\r\n",
    ])
    func malformed(text: String) {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: text)
        #expect(throws: RESPError.self) { _ = try parser.next(from: &buffer) }
    }

    @Test("bounds: long bulk, deep nesting and long lines are refused before buffering them")
    func bounds() {
        var parser = RESPParser(maximumBulkLength: 10, maximumArrayCount: 4, maximumDepth: 3, maximumLineLength: 16)
        var big = ByteBuffer(string: "$11\r\n")
        #expect(throws: RESPError.self) { _ = try parser.next(from: &big) }
        parser = RESPParser(maximumBulkLength: 10, maximumArrayCount: 4, maximumDepth: 3, maximumLineLength: 16)
        var deep = ByteBuffer(string: "*1\r\n*1\r\n*1\r\n*1\r\n")
        #expect(throws: RESPError.self) { _ = try parser.next(from: &deep) }
        parser = RESPParser(maximumBulkLength: 10, maximumArrayCount: 4, maximumDepth: 3, maximumLineLength: 16)
        var many = ByteBuffer(string: "*5\r\n")
        #expect(throws: RESPError.self) { _ = try parser.next(from: &many) }
        parser = RESPParser(maximumBulkLength: 10, maximumArrayCount: 4, maximumDepth: 3, maximumLineLength: 16)
        var line = ByteBuffer(string: "+" + String(repeating: "a", count: 40))
        #expect(throws: RESPError.self) { _ = try parser.next(from: &line) }
    }

    @Test("a large array arriving in small pieces is parsed once, in order")
    func largeArray() throws {
        let count = 20_000
        var encoded = ByteBuffer()
        RESPValue.array((0..<count).map { .integer(Int64($0)) }).encode(into: &encoded)
        var parser = RESPParser()
        var buffer = ByteBuffer()
        var result: RESPValue?
        while encoded.readableBytes > 0 {
            var piece = encoded.readSlice(length: min(7, encoded.readableBytes))!
            buffer.writeBuffer(&piece)
            if let value = try parser.next(from: &buffer) { result = value }
        }
        #expect(result?.array?.count == count)
        #expect(result?.array?.last == .integer(Int64(count - 1)))
    }
}
