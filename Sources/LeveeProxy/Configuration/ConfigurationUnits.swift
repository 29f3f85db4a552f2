import NIOCore

/// Parsing of the human-friendly values used in configuration files: durations (`"250ms"`,
/// `"2s"`, `"1m30s"`), byte sizes (`"10MiB"`, `"512KB"`, `4096`) and addresses (`"127.0.0.1:8080"`,
/// `"[::1]:8080"`). Each function returns nil or a reason, never traps, so a bad value becomes a
/// configuration error naming its line.
public enum ConfigurationUnits {
    /// `"250ms"`, `"2s"`, `"1m"`, `"1h"`, `"1m30s"`, `"100us"`, `"0s"`. Units: ns, us, ms, s, m, h, d.
    public static func parseDuration(_ text: String) -> TimeAmount? {
        let scalars = Array(text.trimmingSpaces.utf8)
        guard !scalars.isEmpty else { return nil }
        var index = 0
        var totalNanoseconds: Int64 = 0
        while index < scalars.count {
            // Integer part, optional fraction.
            let numberStart = index
            while index < scalars.count, scalars[index] >= UInt8(ascii: "0"), scalars[index] <= UInt8(ascii: "9") {
                index += 1
            }
            if index < scalars.count, scalars[index] == UInt8(ascii: ".") {
                index += 1
                while index < scalars.count, scalars[index] >= UInt8(ascii: "0"), scalars[index] <= UInt8(ascii: "9") {
                    index += 1
                }
            }
            guard index > numberStart, let value = Double(String(decoding: scalars[numberStart..<index], as: UTF8.self))
            else { return nil }
            let unitStart = index
            while index < scalars.count, (scalars[index] >= UInt8(ascii: "a") && scalars[index] <= UInt8(ascii: "z")) {
                index += 1
            }
            let unit = String(decoding: scalars[unitStart..<index], as: UTF8.self)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            case "d": scale = 86400e9
            default: return nil
            }
            let nanoseconds = value * scale
            guard nanoseconds.isFinite, nanoseconds < 9e18 - Double(totalNanoseconds) else { return nil }
            totalNanoseconds += Int64(nanoseconds.rounded())
        }
        return .nanoseconds(totalNanoseconds)
    }

    /// `"10MiB"`, `"512KiB"`, `"1GB"`, `"100B"`, `"4096"`. Binary units (KiB, MiB, GiB) are powers of
    /// 1024; decimal ones (KB, MB, GB) powers of 1000. Case of the unit is not significant.
    public static func parseByteSize(_ text: String) -> Int? {
        let trimmed = text.trimmingSpaces
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        guard !digits.isEmpty, let value = Double(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingSpaces.lowercased()
        let scale: Double
        switch unit {
        case "", "b": scale = 1
        case "k", "kb": scale = 1e3
        case "m", "mb": scale = 1e6
        case "g", "gb": scale = 1e9
        case "kib": scale = 1024
        case "mib": scale = 1024 * 1024
        case "gib": scale = 1024 * 1024 * 1024
        case "tib": scale = 1024 * 1024 * 1024 * 1024
        default: return nil
        }
        let bytes = value * scale
        guard bytes.isFinite, bytes < 9e18 else { return nil }
        return Int(bytes.rounded())
    }

    /// `"127.0.0.1:8080"`, `"[::1]:8080"`, `"localhost:8080"` → (host, port). Port 0 is accepted
    /// (the system picks a free port; useful in tests).
    public static func parseHostPort(_ text: String) -> (host: String, port: Int)? {
        let trimmed = text.trimmingSpaces
        let host: Substring
        let portText: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { return nil }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = trimmed.lastIndex(of: ":") else { return nil }
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
            if host.contains(":") { return nil }  // bare IPv6 needs brackets
        }
        guard !host.isEmpty, !host.contains(" "), let port = Int(portText), (0...65535).contains(port) else { return nil }
        return (String(host), port)
    }

    /// Formats a duration the way the parser reads it (`"2s"`, `"250ms"`).
    public static func format(_ amount: TimeAmount) -> String {
        let ns = amount.nanoseconds
        if ns == 0 { return "0s" }
        if ns % 3_600_000_000_000 == 0 { return "\(ns / 3_600_000_000_000)h" }
        if ns % 60_000_000_000 == 0 { return "\(ns / 60_000_000_000)m" }
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
        if ns % 1_000 == 0 { return "\(ns / 1_000)us" }
        return "\(ns)ns"
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}
