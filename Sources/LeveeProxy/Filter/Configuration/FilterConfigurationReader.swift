import TOMLKit

/// Reads one TOML table of the filter's sections, recording every problem as a
/// `ConfigurationError` that names the field's dotted path (`rule[2].limit`) and its line.
/// Unknown keys are errors too: a misspelt `acton` must not silently become the default.
struct FilterConfigurationReader {
    let table: TOMLTable
    /// Dotted path of this table (`filter`, `rule[0]`, `rule[0].match`).
    let path: String
    let file: String
    let lineOf: (String) -> Int?
    private var seen: Set<String> = []

    init(table: TOMLTable, path: String, file: String, lineOf: @escaping (String) -> Int?) {
        self.table = table
        self.path = path
        self.file = file
        self.lineOf = lineOf
    }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ message: String) -> ConfigurationError {
        let field = fieldPath(key)
        return ConfigurationError(file: file, line: lineOf(field) ?? lineOf(path), field: field, message: message)
    }

    mutating func has(_ key: String) -> Bool {
        seen.insert(key)
        return table.contains(key: key)
    }

    mutating func string(_ key: String, _ errors: inout [ConfigurationError]) -> String? {
        guard has(key), let value = table[key] else { return nil }
        guard let s = value.string else {
            errors.append(error(key, "expected a string"))
            return nil
        }
        return s
    }

    mutating func int(_ key: String, _ errors: inout [ConfigurationError]) -> Int? {
        guard has(key), let value = table[key] else { return nil }
        guard let i = value.int else {
            errors.append(error(key, "expected an integer"))
            return nil
        }
        return i
    }

    mutating func bool(_ key: String, _ errors: inout [ConfigurationError]) -> Bool? {
        guard has(key), let value = table[key] else { return nil }
        guard let b = value.bool else {
            errors.append(error(key, "expected true or false"))
            return nil
        }
        return b
    }

    /// A list of strings; a single string is accepted as a list of one.
    mutating func strings(_ key: String, _ errors: inout [ConfigurationError]) -> [String]? {
        guard has(key), let value = table[key] else { return nil }
        if let s = value.string { return [s] }
        guard let array = value.array else {
            errors.append(error(key, "expected a string or a list of strings"))
            return nil
        }
        var out: [String] = []
        for (i, element) in array.enumerated() {
            guard let s = element.string else {
                errors.append(error("\(key)[\(i)]", "expected a string"))
                continue
            }
            out.append(s)
        }
        return out
    }

    mutating func table(_ key: String, _ errors: inout [ConfigurationError]) -> FilterConfigurationReader? {
        guard has(key), let value = table[key] else { return nil }
        guard let t = value.table else {
            errors.append(error(key, "expected a table"))
            return nil
        }
        return FilterConfigurationReader(table: t, path: fieldPath(key), file: file, lineOf: lineOf)
    }

    mutating func duration(_ key: String, _ errors: inout [ConfigurationError]) -> Duration? {
        guard let text = string(key, &errors) else { return nil }
        guard let d = FilterConfigurationReader.parseDuration(text) else {
            errors.append(error(key, "\"\(text)\" is not a duration (e.g. \"500ms\", \"30s\", \"10m\", \"1h\", \"1d\")"))
            return nil
        }
        return d
    }

    mutating func networks(_ key: String, _ errors: inout [ConfigurationError]) -> [CIDR]? {
        guard let list = strings(key, &errors) else { return nil }
        var out: [CIDR] = []
        for (i, text) in list.enumerated() {
            guard let cidr = CIDR(text) else {
                errors.append(error("\(key)[\(i)]", "\"\(text)\" is not an address or CIDR network (e.g. \"10.0.0.0/8\", \"2001:db8::/32\")"))
                continue
            }
            out.append(cidr)
        }
        return out
    }

    /// Reports keys present in the table that nothing read.
    func finish(_ errors: inout [ConfigurationError], allowed: Set<String> = []) {
        for key in table.keys.sorted() where !seen.contains(key) && !allowed.contains(key) {
            errors.append(error(key, "unknown key"))
        }
    }

    /// `500ms`, `30s`, `10m`, `1h`, `1d` (also `min`, `sec`; a bare number is seconds).
    static func parseDuration(_ text: String) -> Duration? {
        let t = text.trimmingASCIISpaces()
        guard let split = t.firstIndex(where: { !$0.isNumber }) ?? Optional(t.endIndex),
              let n = Int64(t[..<split]), n >= 0 else { return nil }
        switch t[split...].trimmingASCIISpaces().lowercased() {
        case "ms": return .milliseconds(n)
        case "", "s", "sec", "second", "seconds": return .seconds(n)
        case "m", "min", "minute", "minutes": return .seconds(n * 60)
        case "h", "hour", "hours": return .seconds(n * 3600)
        case "d", "day", "days": return .seconds(n * 86_400)
        default: return nil
        }
    }
}
