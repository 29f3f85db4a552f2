extension LimiterKey {
    /// Parses a textual IPv4 (`192.0.2.7`) or IPv6 (`2001:db8::1`, `::ffff:192.0.2.7`) address;
    /// nil when the text is not one. Meant for configuration and tests, not the hot path.
    public init?(address text: some StringProtocol) {
        if !text.contains(":") {
            guard let v4 = LimiterKey.parseIPv4(text) else { return nil }
            self.init(ipv4: v4)
            return
        }
        // Split on "::" at most once, then parse 16-bit groups; a trailing dotted quad is two groups.
        let parts = text.split(separator: "::", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        func groups(_ s: Substring) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            let fields = s.split(separator: ":", omittingEmptySubsequences: false)
            for (index, field) in fields.enumerated() {
                if index == fields.count - 1, field.contains(".") {
                    guard let v4 = LimiterKey.parseIPv4(field) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xFFFF))
                } else {
                    guard (1...4).contains(field.count), let g = UInt16(field, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        guard let head = groups(Substring(parts[0])) else { return nil }
        var all = head
        if parts.count == 2 {
            guard let tail = groups(Substring(parts[1])), head.count + tail.count <= 7 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        let high = all[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = all[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        self.init(ipv6High: high, low: low)
    }

    private static func parseIPv4(_ text: some StringProtocol) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard (1...3).contains(octet.count), octet.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}
