import LeveeLoad
import NIOCore
import Testing

@Suite struct AnnouncedAddressRangeTests {
    @Test func ipv6SpreadOnePerSlash64() throws {
        let range = try AnnouncedAddressRange("2001:db8::/48", per: 64)
        #expect(range.family == .v6 && range.count == 65_536)
        #expect(range.addressText(0) == "2001:db8::1")
        #expect(range.addressText(1) == "2001:db8:0:1::1")
        #expect(range.addressText(0xBEEF) == "2001:db8:0:beef::1")
        #expect(range.addressText(65_536) == "2001:db8::1")  // wraps around
        // Host bits in the text are cleared: the range is the network.
        #expect(try AnnouncedAddressRange("2001:db8::5/48", per: 64) == range)
    }

    @Test func ipv6ConsecutiveStayInOneSlash64() throws {
        let range = try AnnouncedAddressRange("2001:db8:a::/64")
        #expect(range.addressText(0) == "2001:db8:a::1")
        #expect(range.addressText(1) == "2001:db8:a::2")
        #expect(range.addressText(65_535) == "2001:db8:a::1:0")
        let single = try AnnouncedAddressRange("2001:db8::7")
        #expect(single.count == 1 && single.addressText(0) == "2001:db8::7" && single.addressText(9) == "2001:db8::7")
        let wide = try AnnouncedAddressRange("2001:db8::/32", per: 48)
        #expect(wide.addressText(3) == "2001:db8:3::1")
    }

    @Test func ipv4AnyRange() throws {
        let range = try AnnouncedAddressRange("203.0.113.0/24")
        #expect(range.family == .v4 && range.count == 255)
        #expect(range.addressText(0) == "203.0.113.1")
        #expect(range.addressText(254) == "203.0.113.255")
        #expect(range.addressText(255) == "203.0.113.1")
        #expect(try AnnouncedAddressRange("10.0.0.0/16", per: 24).addressText(3) == "10.0.3.1")
        #expect(try AnnouncedAddressRange("198.51.100.9").addressText(4) == "198.51.100.9")
    }

    @Test func badRangesAreRefused() {
        for (text, per) in [("nope", nil), ("2001:db8::/129", nil), ("2001:db8::/48", 40), ("10.0.0.0/8", 33), ("10.0.0.0/x", nil)] as [(String, Int?)] {
            #expect(throws: LoadError.self, "\(text) per \(String(describing: per))") { try AnnouncedAddressRange(text, per: per) }
        }
    }

    @Test func scenarioKeys() throws {
        let scenario = try Scenario(toml: """
            target = "http://127.0.0.1:8080/"
            [[class]]
            name = "botnet"
            identity = "proxy-v2"
            announce = "2001:db8::/48"
            announce_per = 64
            """)
        #expect(scenario.classes[0].announce == (try AnnouncedAddressRange("2001:db8::/48", per: 64)))
        // announce with the (default) source identity; announce_per without announce.
        for body in ["announce = \"2001:db8::/48\"", "identity = \"x-forwarded-for\"\nannounce_per = 64"] {
            #expect(throws: LoadError.self, "\(body)") {
                try Scenario(toml: "target = \"http://127.0.0.1:8080/\"\n[[class]]\nname = \"c\"\n" + body)
            }
        }
    }

    @Test func proxyHeadersCarryIPv6() {
        let v1 = ProxyProtocolHeader.v1(source: "2001:db8::1", destination: "127.0.0.1", sourcePort: 5000, destinationPort: 80)
        #expect(String(buffer: v1) == "PROXY TCP6 2001:db8::1 ::ffff:127.0.0.1 5000 80\r\n")
        var v2 = ProxyProtocolHeader.v2(source: "2001:db8::1", destination: "::1", sourcePort: 5000, destinationPort: 80)
        #expect(v2.readableBytes == 16 + 36)
        v2.moveReaderIndex(forwardBy: 12)
        #expect(v2.readBytes(length: 4) == [0x21, 0x21, 0x00, 36])
        #expect(v2.readBytes(length: 16) == [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1])
        #expect(v2.readBytes(length: 16) == Array(repeating: 0, count: 15) + [1])
        #expect(v2.readInteger(as: UInt16.self) == 5000 && v2.readInteger(as: UInt16.self) == 80)
    }
}
