import Testing

@testable import LeveeProxy

@Suite struct FilterBanTests {
    private let second: UInt64 = 1_000_000_000

    @Test func escalatesAlongTheLadderAndExpires() {
        let bans = BanList(ladder: [.seconds(60), .seconds(600), .seconds(3600)], forgetAfter: .seconds(86_400))
        let client = ClientAddress("203.0.113.5")!
        var now: UInt64 = 1_000 * second
        #expect(bans.activeBan(for: client, now: now) == nil)

        let first = bans.escalate(client, now: now, reason: "test")
        #expect(first.level == 1 && first.end == now + 60 * second)
        // While banned, more offences keep the same ban.
        #expect(bans.escalate(client, now: now + 10 * second, reason: "test") == first)
        #expect(bans.activeBan(for: client, now: now + 59 * second) != nil)
        #expect(bans.activeBan(for: client, now: now + 60 * second) == nil)
        #expect(bans.activeBan(for: ClientAddress("203.0.113.6")!, now: now) == nil)

        now += 120 * second
        #expect(bans.escalate(client, now: now, reason: "test").level == 2)
        #expect(bans.activeBan(for: client, now: now + 599 * second)?.level == 2)
        now += 700 * second
        let third = bans.escalate(client, now: now, reason: "test")
        #expect(third.level == 3 && third.end == now + 3600 * second)
        now += 4000 * second
        // The last rung repeats.
        #expect(bans.escalate(client, now: now, reason: "test").end == now + 3600 * second)
        // After a quiet day the history is forgotten.
        now += 3600 * second + 86_401 * second
        #expect(bans.escalate(client, now: now, reason: "test").level == 1)
    }

    @Test func operatorAddListRemove() {
        let bans = BanList()
        let now: UInt64 = 5 * second
        bans.add(CIDR("198.51.100.0/24")!, duration: .seconds(30), now: now, reason: "abuse report")
        bans.add(CIDR("2001:db8::1")!, duration: .seconds(90), now: now, reason: "manual")
        #expect(bans.activeBan(for: ClientAddress("198.51.100.77")!, now: now)?.reason == "abuse report")
        #expect(bans.activeBan(for: ClientAddress("2001:db8::1")!, now: now)?.level == 0)
        #expect(bans.activeBan(for: ClientAddress("198.51.101.1")!, now: now) == nil)
        #expect(bans.list(now: now).map(\.network.description) == ["2001:db8::1/128", "198.51.100.0/24"])
        #expect(bans.remove(CIDR("198.51.100.0/24")!, now: now))
        #expect(!bans.remove(CIDR("198.51.100.0/24")!, now: now))
        #expect(bans.activeBan(for: ClientAddress("198.51.100.77")!, now: now) == nil)
        #expect(bans.list(now: now + 91 * second).isEmpty)
    }

    @Test func boundedUnderManyClients() {
        let bans = BanList(ladder: [.seconds(1)], forgetAfter: .seconds(1), capacity: 640)
        for i in 0..<10_000 {
            bans.escalate(.v4(0x0A00_0000 + UInt32(i)), now: UInt64(i) * second, reason: "flood")
        }
        #expect(bans.list(now: 9_999 * second).count == 1)
        #expect(bans.activeBan(for: .v4(0x0A00_0000 + 9_999), now: 9_999 * second) != nil)
    }

    @Test func concurrentLookupsAndBans() async {
        let bans = BanList()
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for i in 0..<2_000 {
                        let a = ClientAddress.v4(UInt32(t << 16 | i))
                        if i % 3 == 0 { bans.escalate(a, now: 1, reason: "x") }
                        _ = bans.activeBan(for: a, now: 2)
                    }
                }
            }
        }
        #expect(bans.list(now: 2).count == 4 * 667)
    }
}
