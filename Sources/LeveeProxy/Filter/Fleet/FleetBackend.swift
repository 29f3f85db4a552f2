import Levee
import LeveeRESP
import LeveeRedis
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The Redis side of the flood filter's global rules: one pipelined connection shared by all of
/// them and one ``FleetLimiter`` per global rule.
///
/// A reload builds a new `FloodFilter`; when `[fleet]` is unchanged it hands the new filter the
/// same backend, which gives back the same limiter for every unchanged global rule, so leased
/// tokens and the connection survive the reload. A backend that is no longer used is retired:
/// its connection closes after a grace period, once the old filter has stopped deciding.
public final class FleetBackend: Sendable {
    /// The `[fleet]` table this backend was built from.
    public let settings: FleetSettings
    /// The connection to Redis.
    public let client: RESPClient
    let gcra: RedisGCRA
    private let limiters = Mutex<[FleetRule: FleetLimiter]>([:])

    /// A backend for `settings`. It connects in the background (the first lease request waits
    /// for the connection, bounded by the connect timeout); nothing here blocks.
    public init(settings: FleetSettings, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "levee.fleet")) {
        self.settings = settings
        self.client = RESPClient(configuration: settings.clientConfiguration, eventLoopGroup: eventLoopGroup, logger: logger)
        self.gcra = RedisGCRA(client: client, keyPrefix: settings.keyPrefix)
        _ = client.connect()  // failures are retried with backoff by the client itself
    }

    /// The limiters of `rules`, reusing the one already built for an identical rule (so a reload
    /// keeps its leases); limiters of rules no longer listed are forgotten.
    func limiters(for rules: [FleetRule], capacity: Int, clock: any LimiterClock) -> [FleetLimiter] {
        limiters.withLock { table in
            var next: [FleetRule: FleetLimiter] = [:]
            let built = rules.map { rule in
                let limiter = next[rule] ?? table[rule] ?? FleetLimiter(rule: rule, gcra: gcra, capacity: capacity, clock: clock)
                next[rule] = limiter
                return limiter
            }
            table = next
            return built
        }
    }

    /// Closes the connection after `grace` (requests still being decided by a replaced filter
    /// fall back to the fail mode once it is closed).
    public func retire(after grace: TimeAmount = .seconds(5)) {
        client.eventLoop.scheduleTask(in: grace) { _ = self.client.close() }
    }

    /// Closes the connection now.
    public func close() async {
        try? await client.close()
    }
}
