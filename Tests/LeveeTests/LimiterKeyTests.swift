import Levee
import Testing

@Suite struct LimiterKeyTests {
    @Test func ipv4EqualsItsMappedIPv6Form() {
        #expect(LimiterKey(ipv4: 192, 0, 2, 7) == LimiterKey(address: "::ffff:192.0.2.7"))
        #expect(LimiterKey(ipv4: 192, 0, 2, 7) == LimiterKey(address: "192.0.2.7"))
        #expect(LimiterKey(ipv4: 192, 0, 2, 7).isIPv4)
        #expect(LimiterKey(ipv4: 192, 0, 2, 7).description == "192.0.2.7")
    }

    @Test func ipv6ParsesAndPrints() throws {
        let key = try #require(LimiterKey(address: "2001:db8::1"))
        #expect(key.high == 0x2001_0DB8_0000_0000 && key.low == 1)
        #expect(key.description == "2001:db8::1")
        let bytes: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]
        #expect(bytes.withUnsafeBytes { LimiterKey(ipv6Bytes: $0) } == key)
        // RFC 5952 text: the longest zero run (the first of equal ones) as `::`, never a single zero group.
        for text in ["::", "::1", "2001:db8::", "2001:db8:0:1:0:0:0:1", "2001:0:0:1:0:0:0:1", "1:0:0:2:0:0:3:4", "1:0:2:0:3:0:4:0", "2001:db8:1:2:3:4:5:6", "fe80::1:0:0:1"] {
            let expected = ["::": "::", "::1": "::1", "2001:db8::": "2001:db8::", "2001:db8:0:1:0:0:0:1": "2001:db8:0:1::1",
                            "2001:0:0:1:0:0:0:1": "2001:0:0:1::1", "1:0:0:2:0:0:3:4": "1::2:0:0:3:4", "1:0:2:0:3:0:4:0": "1:0:2:0:3:0:4:0",
                            "2001:db8:1:2:3:4:5:6": "2001:db8:1:2:3:4:5:6", "fe80::1:0:0:1": "fe80::1:0:0:1"][text]
            #expect(LimiterKey(address: text)?.description == expected, "\(text)")
        }
        for bad in ["1.2.3", "1.2.3.256", "::1::2", "12345::", "a.b.c.d", "1:2:3:4:5:6:7:8:9"] {
            #expect(LimiterKey(address: bad) == nil, "\(bad)")
        }
    }

    @Test func networksMaskWithinTheFamily() throws {
        #expect(LimiterKey(ipv4: 192, 0, 2, 7).network(prefixLength: 24) == LimiterKey(ipv4: 192, 0, 2, 0))
        #expect(LimiterKey(ipv4: 192, 0, 2, 7).network(prefixLength: 0) == LimiterKey(ipv4: 0))
        let v6 = try #require(LimiterKey(address: "2001:db8:1:2:3:4:5:6"))
        #expect(v6.network(prefixLength: 64) == LimiterKey(address: "2001:db8:1:2::"))
        #expect(v6.network(prefixLength: 48) == LimiterKey(address: "2001:db8:1::"))
        #expect(LimiterKey("x").network(prefixLength: 8) == LimiterKey("x"))
    }

    @Test func stringsAndBytesDigestConsistently() {
        #expect(LimiterKey("api-key-1") == LimiterKey("api-key-1"))
        #expect(LimiterKey("api-key-1") != LimiterKey("api-key-2"))
        #expect(LimiterKey("abc") == LimiterKey(bytes: Array("abc".utf8)))
        #expect(LimiterKey(bytes: [UInt8]()) != LimiterKey(0))
        // Kinds never collide: the integer 1 is not the address ::1.
        #expect(LimiterKey(1) != LimiterKey(ipv6High: 0, low: 1))
    }

    @Test func distinctKeysAreNeverChargedForEachOther() {
        // 50,000 distinct keys in one table, each taking its single token: all admitted once,
        // then all denied — one key's charge never lands on another.
        let clock = ManualClock(start: 1)
        let table = KeyedRateLimiter(capacity: 1 << 18, clock: clock)
        let quota = Quota(rate: 1, period: .seconds(60), burst: 1)
        var first = 0, second = 0
        for index in 0..<50_000 where table.acquire(LimiterKey(ipv4: UInt32(index)), quota: quota).isAllowed { first += 1 }
        for index in 0..<50_000 where table.acquire(LimiterKey(ipv4: UInt32(index)), quota: quota).isAllowed { second += 1 }
        #expect(first == 50_000)
        #expect(second == 0)
        #expect(table.statistics.forcedEvictions == 0)
    }
}
