import NIOCore
import TOMLKit

/// Errors found while reading one file, with the file name and source map needed to place them.
/// Readers share one instance so that every error of the file is reported, not only the first.
final class ConfigurationDiagnostics {
    let file: String
    let sourceMap: TOMLSourceMap
    var errors: [ConfigurationError] = []

    init(file: String, sourceMap: TOMLSourceMap) {
        self.file = file
        self.sourceMap = sourceMap
    }

    /// Records a problem with `field`, placed at the nearest line the source map knows.
    func report(_ field: String, _ message: String) {
        errors.append(ConfigurationError(file: file, line: sourceMap.nearestLine(of: field), field: field, message: message))
    }

    /// Errors in file order (then by field), the order an operator fixes them in.
    var sortedErrors: [ConfigurationError] {
        errors.enumerated().sorted { a, b in
            let la = a.element.line ?? Int.max
            let lb = b.element.line ?? Int.max
            return la != lb ? la < lb : a.offset < b.offset
        }.map(\.element)
    }
}

/// Reads typed fields out of one TOML table, reporting wrong types, bad values and (in `finish()`)
/// keys nobody asked for, so that a typo such as `max_failure = 3` is an error, not a silent default.
struct TOMLTableReader {
    let table: TOMLTable
    /// Dotted path of this table (`upstream.api`, `route[2]`); empty for the root.
    let path: String
    let diagnostics: ConfigurationDiagnostics
    private var consumed: Set<String> = []

    init(table: TOMLTable, path: String, diagnostics: ConfigurationDiagnostics) {
        self.table = table
        self.path = path
        self.diagnostics = diagnostics
    }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func report(_ key: String, _ message: String) { diagnostics.report(fieldPath(key), message) }

    /// Marks `key` as understood (for keys read by other code, e.g. the filter's sections).
    mutating func accept(_ key: String) { consumed.insert(key) }

    /// The raw value, marking the key as known.
    mutating func value(_ key: String) -> TOMLValueConvertible? {
        consumed.insert(key)
        return table[key]
    }

    mutating func string(_ key: String) -> String? {
        guard let raw = value(key) else { return nil }
        guard let s = raw.string else {
            report(key, "expected a string, found \(raw.type)")
            return nil
        }
        return s
    }

    mutating func bool(_ key: String) -> Bool? {
        guard let raw = value(key) else { return nil }
        guard let b = raw.bool else {
            report(key, "expected true or false, found \(raw.type)")
            return nil
        }
        return b
    }

    /// An integer within `range` (inclusive).
    mutating func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let raw = value(key) else { return nil }
        guard let n = raw.int else {
            report(key, "expected an integer, found \(raw.type)")
            return nil
        }
        guard range.contains(n) else {
            report(key, "\(n) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return n
    }

    /// A duration string such as `"2s"`, `"250ms"`, `"1m"`; `positive` rejects zero.
    mutating func duration(_ key: String, positive: Bool = true) -> TimeAmount? {
        guard let raw = value(key) else { return nil }
        guard let text = raw.string else {
            report(key, "expected a duration string such as \"2s\" or \"250ms\", found \(raw.type)")
            return nil
        }
        guard let amount = ConfigurationUnits.parseDuration(text) else {
            report(key, "invalid duration \"\(text)\" (use a number and a unit: ms, s, m, h, e.g. \"2s\")")
            return nil
        }
        if positive && amount.nanoseconds <= 0 {
            report(key, "must be greater than zero")
            return nil
        }
        return amount
    }

    /// A size in bytes: an integer, or a string such as `"10MiB"`, `"64KiB"`.
    mutating func byteSize(_ key: String, minimum: Int = 1) -> Int? {
        guard let raw = value(key) else { return nil }
        let bytes: Int
        if let n = raw.int {
            bytes = n
        } else if let text = raw.string {
            guard let parsed = ConfigurationUnits.parseByteSize(text) else {
                report(key, "invalid size \"\(text)\" (use e.g. \"10MiB\", \"64KiB\" or a number of bytes)")
                return nil
            }
            bytes = parsed
        } else {
            report(key, "expected a size such as \"10MiB\" or an integer, found \(raw.type)")
            return nil
        }
        guard bytes >= minimum else {
            report(key, "must be at least \(minimum) bytes")
            return nil
        }
        return bytes
    }

    /// `"host:port"`.
    mutating func hostPort(_ key: String) -> (host: String, port: Int)? {
        guard let text = string(key) else { return nil }
        guard let parsed = ConfigurationUnits.parseHostPort(text) else {
            report(key, "invalid address \"\(text)\" (expected host:port, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\")")
            return nil
        }
        return parsed
    }

    /// An array of strings; each bad element is reported with its index.
    mutating func stringArray(_ key: String) -> [String]? {
        guard let raw = value(key) else { return nil }
        guard let array = raw.array else {
            report(key, "expected an array of strings, found \(raw.type)")
            return nil
        }
        var out: [String] = []
        for (i, element) in array.enumerated() {
            if let s = element.string {
                out.append(s)
            } else {
                diagnostics.report("\(fieldPath(key))[\(i)]", "expected a string, found \(element.type)")
            }
        }
        return out
    }

    /// A sub-table, or nil (reported if the key holds something else).
    mutating func table(_ key: String) -> TOMLTableReader? {
        guard let raw = value(key) else { return nil }
        guard let sub = raw.table else {
            report(key, "expected a table ([\(fieldPath(key))]), found \(raw.type)")
            return nil
        }
        return TOMLTableReader(table: sub, path: fieldPath(key), diagnostics: diagnostics)
    }

    /// An array of tables (`[[key]]`), each with its own reader.
    mutating func tableArray(_ key: String) -> [TOMLTableReader]? {
        guard let raw = value(key) else { return nil }
        guard let array = raw.array else {
            report(key, "expected an array of tables ([[\(fieldPath(key))]]), found \(raw.type)")
            return nil
        }
        var out: [TOMLTableReader] = []
        for (i, element) in array.enumerated() {
            let elementPath = "\(fieldPath(key))[\(i)]"
            if let sub = element.table {
                out.append(TOMLTableReader(table: sub, path: elementPath, diagnostics: diagnostics))
            } else {
                diagnostics.report(elementPath, "expected a table, found \(element.type)")
            }
        }
        return out
    }

    /// Reports every key of the table that no accessor asked for, suggesting the nearest known key.
    func finish() {
        let known = consumed.sorted()
        for key in table.keys.sorted() where !consumed.contains(key) {
            let nearest = known.map { ($0, Self.editDistance($0, key)) }.min { $0.1 < $1.1 }
            if let nearest, nearest.1 <= 2 {
                report(key, "unknown key (did you mean \"\(nearest.0)\"?)")
            } else {
                report(key, "unknown key (known keys here: \(known.joined(separator: ", ")))")
            }
        }
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var row = previous
        for i in 1...a.count {
            row[0] = i
            for j in 1...b.count {
                row[j] = Swift.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&row, &previous)
        }
        return previous[b.count]
    }
}
