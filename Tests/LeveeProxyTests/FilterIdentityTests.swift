import NIOCore
import NIOHTTP1
import Testing

@testable import LeveeProxy

@Suite struct FilterIdentityTests {
    @Test func parsesIPv4AndIPv6() throws {
        #expect(ClientAddress("192.0.2.7") == .v4(0xC000_0207))
        #expect(ClientAddress("2001:db8::1") == .v6(high: 0x2001_0db8_0000_0000, low: 1))
        #expect(ClientAddress("::1") == .v6(high: 0, low: 1))
        #expect(ClientAddress("::") == .v6(high: 0, low: 0))
        #expect(ClientAddress("::ffff:10.1.2.3") == .v4(0x0A01_0203))
        #expect(ClientAddress("fe80::1%eth0") == .v6(high: 0xFE80_0000_0000_0000, low: 1))
        #expect(ClientAddress("1:2:3:4:5:6:7:8")?.description == "1:2:3:4:5:6:7:8")
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1::2::3", "1:2:3:4:5:6:7:8:9", "g::1", ":1::", "1.2.3.4 ", "12345::"] {
            #expect(ClientAddress(bad) == nil, "\(bad) should not parse")
        }
    }

    @Test func printsCanonicalForms() {
        #expect(ClientAddress("2001:0db8:0000:0000:0000:0000:0000:0001")?.description == "2001:db8::1")
        #expect(ClientAddress("2001:db8:0:1:0:0:0:1")?.description == "2001:db8:0:1::1")
        #expect(ClientAddress("10.20.30.40")?.description == "10.20.30.40")
    }

    @Test func socketAddressesBecomeClientAddresses() throws {
        let v4 = try SocketAddress(ipAddress: "198.51.100.9", port: 443)
        let v6 = try SocketAddress(ipAddress: "2001:db8:1:2::99", port: 443)
        let mapped = try SocketAddress(ipAddress: "::ffff:198.51.100.9", port: 443)
        #expect(ClientAddress(v4) == ClientAddress("198.51.100.9"))
        #expect(ClientAddress(v6) == ClientAddress("2001:db8:1:2::99"))
        #expect(ClientAddress(mapped) == ClientAddress("198.51.100.9"))
    }

    @Test func aggregateKeysAreSlash24AndSlash64() {
        #expect(ClientAddress("203.0.113.77")!.subnet == ClientAddress("203.0.113.0"))
        #expect(ClientAddress("2001:db8:aa:bb:1:2:3:4")!.subnet == ClientAddress("2001:db8:aa:bb::"))
        #expect(ClientAddress("203.0.113.77")!.subnet == ClientAddress("203.0.113.200")!.subnet)
        #expect(ClientAddress("203.0.113.77")!.subnet != ClientAddress("203.0.114.77")!.subnet)
    }

    @Test func cidrMatching() throws {
        let net = try #require(CIDR("10.0.0.0/8"))
        #expect(net.contains(ClientAddress("10.255.1.2")!))
        #expect(!net.contains(ClientAddress("11.0.0.1")!))
        #expect(!net.contains(ClientAddress("::ffff:11.0.0.1")!))
        #expect(net.contains(ClientAddress("::ffff:10.0.0.1")!))
        let v6 = try #require(CIDR("2001:db8::/32"))
        #expect(v6.contains(ClientAddress("2001:db8:ffff::1")!))
        #expect(!v6.contains(ClientAddress("2001:db9::1")!))
        #expect(!v6.contains(ClientAddress("10.0.0.1")!))
        #expect(CIDR("10.1.2.3/8") == CIDR("10.0.0.0/8"))
        #expect(CIDR("192.0.2.1")?.prefixLength == 32)
        #expect(CIDR("0.0.0.0/0")!.contains(ClientAddress("8.8.8.8")!))
        for bad in ["10.0.0.0/33", "10.0.0.0/-1", "10.0.0/8", "2001:db8::/129", "x/8", "10.0.0.0/8/8", "10.0.0.0/"] {
            #expect(CIDR(bad) == nil, "\(bad) should not parse")
        }
    }

    @Test func forwardedHeaderElements() {
        let hops = ForwardedHeaderParser.forwarded([
            "for=192.0.2.60;proto=http;by=203.0.113.43, for=\"[2001:db8:cafe::17]:4711\"", "For=198.51.100.17:8080, for=unknown",
        ])
        #expect(hops == [ClientAddress("192.0.2.60"), ClientAddress("2001:db8:cafe::17"), ClientAddress("198.51.100.17"), nil])
        #expect(ForwardedHeaderParser.xForwardedFor(["203.0.113.1, 10.0.0.2", "10.0.0.3:80"])
            == [ClientAddress("203.0.113.1"), ClientAddress("10.0.0.2"), ClientAddress("10.0.0.3")])
        #expect(ForwardedHeaderParser.xForwardedFor(["garbage, 10.0.0.2"]) == [nil, ClientAddress("10.0.0.2")])
    }

    private func request(peer: String, headers: [(String, String)] = [], proxyProtocol: String? = nil) throws -> RequestContext {
        RequestContext(
            head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: HTTPHeaders(headers)),
            socketAddress: try SocketAddress(ipAddress: peer, port: 5000),
            proxyProtocolSource: try proxyProtocol.map { try SocketAddress(ipAddress: $0, port: 6000) }, routeName: "default")
    }

    @Test func xForwardedForFromUntrustedPeerIsIgnored() throws {
        let identifier = ClientIdentifier(trustedProxies: NetworkList([CIDR("10.0.0.0/8")!]))
        let id = identifier.identify(try request(peer: "198.51.100.1", headers: [("X-Forwarded-For", "1.2.3.4")]))
        #expect(id.address == ClientAddress("198.51.100.1"))
        #expect(id.source == .socket)
        #expect(id.ignoredUntrustedForwarding)
        // Without any header nothing is flagged.
        #expect(!identifier.identify(try request(peer: "198.51.100.1")).ignoredUntrustedForwarding)
    }

    @Test func xForwardedForFromTrustedPeerTakesRightmostUntrustedHop() throws {
        let identifier = ClientIdentifier(trustedProxies: NetworkList([CIDR("10.0.0.0/8")!]))
        // The client forged "6.6.6.6"; the trusted balancer 10.0.0.5 appended the real 203.0.113.9.
        let id = identifier.identify(try request(peer: "10.0.0.1", headers: [("X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.0.0.5")]))
        #expect(id.address == ClientAddress("203.0.113.9"))
        #expect(id.source == .xForwardedFor)
        #expect(!id.ignoredUntrustedForwarding)
        // An unreadable element stops the walk at the trusted hop to its right.
        let broken = identifier.identify(try request(peer: "10.0.0.1", headers: [("X-Forwarded-For", "203.0.113.9, junk, 10.0.0.5")]))
        #expect(broken.address == ClientAddress("10.0.0.5"))
    }

    @Test func forwardedHeaderWhenConfigured() throws {
        let identifier = ClientIdentifier(trustedProxies: NetworkList([CIDR("10.0.0.0/8")!]), header: .forwarded)
        let id = identifier.identify(try request(peer: "10.1.1.1", headers: [
            ("Forwarded", "for=\"[2001:db8::7]:1234\";proto=https"), ("X-Forwarded-For", "9.9.9.9"),
        ]))
        #expect(id.address == ClientAddress("2001:db8::7"))
        #expect(id.source == .forwarded)
    }

    @Test func proxyProtocolSourceBelievedOnlyFromTrustedPeer() throws {
        let identifier = ClientIdentifier(trustedProxies: NetworkList([CIDR("127.0.0.0/8")!]), header: .none)
        let trusted = identifier.identify(try request(peer: "127.0.0.1", proxyProtocol: "203.0.113.50"))
        #expect(trusted.address == ClientAddress("203.0.113.50"))
        #expect(trusted.source == .proxyProtocol)
        let untrusted = identifier.identify(try request(peer: "198.51.100.3", proxyProtocol: "203.0.113.50"))
        #expect(untrusted.address == ClientAddress("198.51.100.3"))
        #expect(untrusted.ignoredUntrustedForwarding)
    }
}
