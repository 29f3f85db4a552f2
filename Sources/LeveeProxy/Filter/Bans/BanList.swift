import Synchronization

/// Active bans and the escalation history behind them, bounded in memory.
///
/// A ban covers one address (a /32 or /128) or a whole network. Automatic bans climb a ladder
/// (e.g. 1 min, 10 min, 1 h): each new ban of the same address within `forgetAfter` of the end
/// of its previous one takes the next rung; after that quiet time the history is forgotten.
/// Bans added by an operator take the duration they are given.
///
/// Times are `LimiterClock` readings (nanoseconds), so tests drive expiry with a `ManualClock`.
///
/// Lookups on the request path first read one atomic (`latestEnd`): while no ban can still be
/// active, they take no lock at all. Otherwise they lock one of 64 shards chosen by the address,
/// so concurrent lookups from different clients rarely meet.
public final class BanList: Sendable {
    /// One ban.
    public struct Ban: Sendable, Equatable {
        public var network: CIDR
        /// Clock reading (ns) when the ban started and when it ends.
        public var start: UInt64
        public var end: UInt64
        /// Rung of the ladder (1 = first ban); 0 for a ban added by an operator.
        public var level: Int
        public var reason: String

        /// Time left at `now`.
        public func remaining(at now: UInt64) -> Duration { .nanoseconds(Int64(end > now ? end - now : 0)) }
    }

    /// Durations of successive automatic bans; the last one repeats.
    public let ladder: [Duration]
    /// How long after a ban ends its level is remembered for escalation.
    public let forgetAfter: Duration
    /// Most entries kept (active bans and history), across shards.
    public let capacity: Int

    private static let shardCount = 64
    private let shards: [Shard]
    /// Network-wide bans (not single addresses); few, checked only when any exist.
    private let networkBans: Mutex<[CIDR: Ban]>
    private let networkBanCount = Atomic<Int>(0)
    /// The latest end of any ban ever set: lookups at or after it need no lock.
    private let latestEnd = Atomic<UInt64>(0)

    public init(ladder: [Duration] = [.seconds(60), .seconds(600), .seconds(3600)], forgetAfter: Duration = .seconds(86_400),
                capacity: Int = 100_000) {
        self.ladder = ladder.isEmpty ? [.seconds(60)] : ladder
        self.forgetAfter = forgetAfter
        self.capacity = max(Self.shardCount, capacity)
        self.shards = (0..<Self.shardCount).map { _ in Shard() }
        self.networkBans = Mutex([:])
    }

    /// The ban covering `address` at `now`, if any.
    public func activeBan(for address: ClientAddress, now: UInt64) -> Ban? {
        guard now < latestEnd.load(ordering: .relaxed) else { return nil }
        let host = Self.hostNetwork(address)
        if let ban = shard(for: host).table.withLock({ $0[host] }), ban.end > now { return ban }
        if networkBanCount.load(ordering: .relaxed) > 0 {
            return networkBans.withLock { bans in
                bans.values.first { $0.end > now && $0.network.contains(address) }
            }
        }
        return nil
    }

    /// Bans `address` at the next rung of the ladder and returns the ban. An address already
    /// banned keeps its current ban (a flood of denied requests must not climb the ladder at once).
    @discardableResult
    public func escalate(_ address: ClientAddress, now: UInt64, reason: String) -> Ban {
        let host = Self.hostNetwork(address)
        let forget = Self.nanoseconds(forgetAfter)
        let perShard = capacity / Self.shardCount
        let ban = shard(for: host).table.withLock { table -> Ban in
            var level = 1
            if let previous = table[host] {
                if previous.end > now { return previous }
                if previous.level > 0 && now - previous.end < forget { level = previous.level + 1 }
            }
            let duration = ladder[min(level, ladder.count) - 1]
            let ban = Ban(network: host, start: now, end: now + Self.nanoseconds(duration), level: level, reason: reason)
            if table[host] == nil && table.count >= perShard { Self.makeRoom(in: &table, now: now, forget: forget) }
            table[host] = ban
            return ban
        }
        raiseLatestEnd(ban.end)
        return ban
    }

    /// Adds an operator's ban of an address or network for `duration`, replacing any existing one.
    @discardableResult
    public func add(_ network: CIDR, duration: Duration, now: UInt64, reason: String) -> Ban {
        let ban = Ban(network: network, start: now, end: now + Self.nanoseconds(duration), level: 0, reason: reason)
        if Self.isHost(network) {
            let perShard = capacity / Self.shardCount
            let forget = Self.nanoseconds(forgetAfter)
            shard(for: network).table.withLock { table in
                if table[network] == nil && table.count >= perShard { Self.makeRoom(in: &table, now: now, forget: forget) }
                table[network] = ban
            }
        } else {
            let count = networkBans.withLock { bans in
                bans[network] = ban
                return bans.count
            }
            networkBanCount.store(count, ordering: .relaxed)
        }
        raiseLatestEnd(ban.end)
        return ban
    }

    /// Lifts the ban on exactly `network` (and forgets its history). Returns whether one was active.
    @discardableResult
    public func remove(_ network: CIDR, now: UInt64) -> Bool {
        if Self.isHost(network) {
            return shard(for: network).table.withLock { $0.removeValue(forKey: network) }.map { $0.end > now } ?? false
        }
        let (removed, count) = networkBans.withLock { bans in (bans.removeValue(forKey: network), bans.count) }
        networkBanCount.store(count, ordering: .relaxed)
        return removed.map { $0.end > now } ?? false
    }

    /// Every ban active at `now`, longest remaining first.
    public func list(now: UInt64) -> [Ban] {
        var all: [Ban] = []
        for s in shards { all += s.table.withLock { $0.values.filter { $0.end > now } } }
        all += networkBans.withLock { $0.values.filter { $0.end > now } }
        return all.sorted { $0.end > $1.end }
    }

    // MARK: internals

    /// `Mutex` is not copyable, so each shard's lock lives in its own object.
    private final class Shard: Sendable {
        let table = Mutex<[CIDR: Ban]>([:])
    }

    private func shard(for network: CIDR) -> Shard {
        var h = Hasher()
        h.combine(network)
        return shards[Int(UInt(bitPattern: h.finalize()) % UInt(Self.shardCount))]
    }

    private func raiseLatestEnd(_ end: UInt64) {
        var current = latestEnd.load(ordering: .relaxed)
        while end > current {
            let (exchanged, original) = latestEnd.compareExchange(expected: current, desired: end, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Drops forgotten history first; if the shard is still full, the entry that ended earliest.
    private static func makeRoom(in table: inout [CIDR: Ban], now: UInt64, forget: UInt64) {
        let stale = table.filter { $0.value.end <= now && now - $0.value.end >= forget }.map(\.key)
        for k in stale { table.removeValue(forKey: k) }
        if table.count >= 1, stale.isEmpty, let oldest = table.min(by: { $0.value.end < $1.value.end }) {
            table.removeValue(forKey: oldest.key)
        }
    }

    static func hostNetwork(_ a: ClientAddress) -> CIDR { CIDR(network: a, prefixLength: a.isIPv4 ? 32 : 128) }
    static func isHost(_ n: CIDR) -> Bool { n.prefixLength == (n.network.isIPv4 ? 32 : 128) }

    static func nanoseconds(_ d: Duration) -> UInt64 {
        let (s, a) = d.components
        if s < 0 { return 0 }
        return UInt64(s) &* 1_000_000_000 &+ UInt64(max(0, a) / 1_000_000_000)
    }
}
