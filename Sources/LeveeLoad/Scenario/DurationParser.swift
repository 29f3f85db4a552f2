/// Reads durations written as `30s`, `500ms`, `2m`, `1h`, `250us` or a bare number of seconds.
public enum DurationParser {
    /// Nanoseconds for a duration string, or nil if it does not parse.
    public static func nanoseconds(_ text: String) -> Int64? {
        let t = text.trimmingSpaces()
        let units: [(String, Double)] = [("ms", 1e6), ("us", 1e3), ("ns", 1), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v >= 0, v.isFinite else { return nil }
            return Int64(v * scale)
        }
        guard let v = Double(t), v >= 0, v.isFinite else { return nil }
        return Int64(v * 1e9)
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces.
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
