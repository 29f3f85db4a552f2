/// Where each key, table and array element of a TOML document starts (1-based line numbers).
///
/// TOMLKit gives values but not their positions, so this scans the text once, after TOMLKit has
/// accepted it, and records the line of every dotted path it meets: `server.workers`,
/// `route[1].upstream`, `upstream.api.backends[0]`, `listen[0]`. It understands `[table]`,
/// `[[array.of.tables]]` (each entry gets its index), dotted keys, quoted keys, inline tables,
/// multi-line arrays and every string form, so that text inside strings is never taken for a key.
/// Paths use `.` between keys and `[i]` for array elements; a key that itself contains `.` cannot
/// be told apart, which is why names used in paths (upstreams) are restricted to `[A-Za-z0-9_-]`.
public struct TOMLSourceMap: Sendable {
    private var lines: [String: Int] = [:]

    /// Scans `text` (which should already have parsed as TOML; on malformed text the map is partial).
    public init(text: String) {
        var scanner = Scanner(bytes: Array(text.utf8))
        scanner.scanDocument()
        self.lines = scanner.lines
    }

    /// The line where `path` is defined, if it appears literally in the file.
    public func line(of path: String) -> Int? { lines[path] }

    /// The line of `path`, or of its nearest enclosing key or table that appears in the file
    /// (a missing field is reported at the table that should have held it).
    public func nearestLine(of path: String) -> Int? {
        var current = Substring(path)
        while !current.isEmpty {
            if let line = lines[String(current)] { return line }
            guard let cut = current.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            current = current[..<cut]
        }
        return nil
    }

    /// Every recorded path (for tests and diagnostics).
    public var paths: [String] { Array(lines.keys) }
}

extension TOMLSourceMap {
    /// A lenient single-pass scanner; it only records positions, TOMLKit does the real parsing.
    fileprivate struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var lines: [String: Int] = [:]
        /// The path of the table being filled (`route[2]`, `upstream.api`).
        var currentTable = ""
        /// Next index for each array of tables, keyed by its resolved path.
        var arrayCounts: [String: Int] = [:]

        init(bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index >= bytes.count }
        var current: UInt8 { bytes[index] }

        func peek(_ offset: Int) -> UInt8? {
            index + offset < bytes.count ? bytes[index + offset] : nil
        }

        mutating func advance() {
            if bytes[index] == UInt8(ascii: "\n") { line += 1 }
            index += 1
        }

        mutating func record(_ path: String, _ line: Int) {
            if lines[path] == nil { lines[path] = line }
        }

        mutating func skipBlanks() {
            while !atEnd, current == UInt8(ascii: " ") || current == UInt8(ascii: "\t") || current == UInt8(ascii: "\r") {
                advance()
            }
        }

        mutating func skipComment() {
            while !atEnd, current != UInt8(ascii: "\n") { advance() }
        }

        /// Blanks, newlines and comments (inside arrays).
        mutating func skipTrivia() {
            while !atEnd {
                switch current {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): advance()
                case UInt8(ascii: "#"): skipComment()
                default: return
                }
            }
        }

        mutating func scanDocument() {
            while !atEnd {
                skipBlanks()
                guard !atEnd else { break }
                switch current {
                case UInt8(ascii: "\n"): advance()
                case UInt8(ascii: "#"): skipComment()
                case UInt8(ascii: "["): scanTableHeader()
                default:
                    scanKeyValue(prefix: currentTable)
                    skipBlanks()
                    if !atEnd, current == UInt8(ascii: "#") { skipComment() }
                    // Anything else up to the end of the line is malformed; skip it.
                    while !atEnd, current != UInt8(ascii: "\n") { advance() }
                }
            }
        }

        mutating func scanTableHeader() {
            let headerLine = line
            advance()  // [
            var isArray = false
            if !atEnd, current == UInt8(ascii: "[") {
                isArray = true
                advance()
            }
            skipBlanks()
            let keys = scanKey()
            while !atEnd, current != UInt8(ascii: "\n"), current != UInt8(ascii: "#") { advance() }
            // Resolve each prefix through the arrays of tables seen so far: `[[route.match]]` under
            // the third `[[route]]` lives at `route[2].match`.
            var resolved = ""
            for (position, key) in keys.enumerated() {
                resolved = join(resolved, key)
                let isLast = position == keys.count - 1
                if isLast && isArray {
                    let next = arrayCounts[resolved, default: 0]
                    arrayCounts[resolved] = next + 1
                    record(resolved, headerLine)
                    resolved += "[\(next)]"
                } else if !isLast, let count = arrayCounts[resolved] {
                    resolved += "[\(count - 1)]"
                }
                record(resolved, headerLine)
            }
            currentTable = resolved
        }

        /// A dotted key; stops before `=`, `]` or the end of the line.
        mutating func scanKey() -> [String] {
            var keys: [String] = []
            while !atEnd {
                skipBlanks()
                guard !atEnd else { break }
                let c = current
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    keys.append(scanQuotedKey(quote: c))
                } else {
                    let start = index
                    while !atEnd, isBareKeyByte(current) { advance() }
                    if index == start { break }
                    keys.append(String(decoding: bytes[start..<index], as: UTF8.self))
                }
                skipBlanks()
                if !atEnd, current == UInt8(ascii: ".") {
                    advance()
                    continue
                }
                break
            }
            return keys
        }

        func isBareKeyByte(_ c: UInt8) -> Bool {
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }

        mutating func scanQuotedKey(quote: UInt8) -> String {
            advance()
            var out: [UInt8] = []
            while !atEnd, current != quote, current != UInt8(ascii: "\n") {
                if quote == UInt8(ascii: "\""), current == UInt8(ascii: "\\"), let next = peek(1) {
                    out.append(next)
                    advance()
                    advance()
                    continue
                }
                out.append(current)
                advance()
            }
            if !atEnd, current == quote { advance() }
            return String(decoding: out, as: UTF8.self)
        }

        func join(_ prefix: String, _ key: String) -> String {
            prefix.isEmpty ? key : prefix + "." + key
        }

        mutating func scanKeyValue(prefix: String) {
            let keyLine = line
            let keys = scanKey()
            guard !keys.isEmpty else {
                advance()
                return
            }
            var path = prefix
            for key in keys {
                path = join(path, key)
                record(path, keyLine)
            }
            skipBlanks()
            guard !atEnd, current == UInt8(ascii: "=") else { return }
            advance()
            skipBlanks()
            scanValue(path: path)
        }

        mutating func scanValue(path: String) {
            guard !atEnd else { return }
            switch current {
            case UInt8(ascii: "\""), UInt8(ascii: "'"): scanString()
            case UInt8(ascii: "["): scanArray(path: path)
            case UInt8(ascii: "{"): scanInlineTable(path: path)
            default:
                // Numbers, booleans, dates: up to a delimiter.
                while !atEnd {
                    let c = current
                    if c == UInt8(ascii: ",") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}")
                        || c == UInt8(ascii: "\n") || c == UInt8(ascii: "#") {
                        break
                    }
                    advance()
                }
            }
        }

        mutating func scanString() {
            let quote = current
            if peek(1) == quote, peek(2) == quote {
                // Multi-line string: ends at the next triple quote (up to two more quotes may
                // belong to the content).
                advance(); advance(); advance()
                while !atEnd {
                    if quote == UInt8(ascii: "\""), current == UInt8(ascii: "\\") {
                        advance()
                        if !atEnd { advance() }
                        continue
                    }
                    if current == quote, peek(1) == quote, peek(2) == quote {
                        advance(); advance(); advance()
                        while !atEnd, current == quote { advance() }
                        return
                    }
                    advance()
                }
                return
            }
            advance()
            while !atEnd, current != quote, current != UInt8(ascii: "\n") {
                if quote == UInt8(ascii: "\""), current == UInt8(ascii: "\\") {
                    advance()
                    if atEnd { return }
                }
                advance()
            }
            if !atEnd, current == quote { advance() }
        }

        mutating func scanArray(path: String) {
            advance()  // [
            var element = 0
            while true {
                skipTrivia()
                guard !atEnd else { return }
                if current == UInt8(ascii: "]") {
                    advance()
                    return
                }
                if current == UInt8(ascii: ",") {
                    advance()
                    continue
                }
                let elementPath = "\(path)[\(element)]"
                record(elementPath, line)
                let before = index
                scanValue(path: elementPath)
                if index == before { advance() }  // malformed: make progress
                element += 1
            }
        }

        mutating func scanInlineTable(path: String) {
            advance()  // {
            while true {
                skipTrivia()
                guard !atEnd else { return }
                if current == UInt8(ascii: "}") {
                    advance()
                    return
                }
                if current == UInt8(ascii: ",") {
                    advance()
                    continue
                }
                let before = index
                scanKeyValue(prefix: path)
                if index == before { advance() }
            }
        }
    }
}
