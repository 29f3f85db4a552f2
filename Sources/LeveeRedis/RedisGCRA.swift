import Levee
import LeveeRESP
import NIOCore

/// Runs the GCRA step of a quota in Redis, shared by every instance that uses the same key.
///
/// ``acquire(key:quota:cost:at:)`` is one all-or-nothing decision (what the core's
/// `GCRACell.acquire` does locally); ``lease(key:quota:upTo:debt:at:)`` takes a batch of
/// tokens for ``FleetLimiter`` to spend locally. Both are one atomic script run.
public struct RedisGCRA: Sendable {
    /// The connection to Redis.
    public let client: RESPClient
    /// Prepended to every key (`levee:` by default) so that Levee shares a Redis politely.
    public let keyPrefix: String

    /// A GCRA runner on `client`.
    public init(client: RESPClient, keyPrefix: String = "levee:") {
        self.client = client
        self.keyPrefix = keyPrefix
    }

    /// The Redis key of `key` under rule `rule`: `levee:<rule>:<key>`.
    public func redisKey(rule: String, key: String) -> String {
        keyPrefix + rule + ":" + key
    }

    /// Takes `cost` tokens from the bucket `key` if it holds them all (one decision).
    /// `nowMicroseconds` nil uses Redis's clock; tests pass their own to follow a schedule,
    /// with `expirySlack` covering how far their clock may lag real time (keys expire in real time).
    public func acquire(key: String, quota: Quota, cost: Int = 1, at nowMicroseconds: Int64? = nil,
                        expirySlack: Duration = .zero) -> EventLoopFuture<RateLimitDecision> {
        run(key: key, quota: quota, want: cost, mode: "all", debt: 0, at: nowMicroseconds, slack: expirySlack).map { reply in
            reply.decision(cost: cost, quota: quota)
        }
    }

    /// Takes as many tokens as the bucket `key` holds, up to `want`, after charging `debt`
    /// tokens unconditionally (tokens already admitted on credit).
    public func lease(key: String, quota: Quota, upTo want: Int, debt: Int = 0, at nowMicroseconds: Int64? = nil,
                      expirySlack: Duration = .zero) -> EventLoopFuture<RedisGCRAReply> {
        run(key: key, quota: quota, want: want, mode: "upto", debt: debt, at: nowMicroseconds, slack: expirySlack)
    }

    private func run(key: String, quota: Quota, want: Int, mode: String, debt: Int, at now: Int64?, slack: Duration) -> EventLoopFuture<RedisGCRAReply> {
        let arguments = [String(quota.redisIntervalMicroseconds), String(quota.redisToleranceMicroseconds),
                         String(max(0, want)), mode, String(max(0, debt)), now.map(String.init) ?? "",
                         String(slack.clampedNanoseconds / 1_000_000)]
        return client.submitScript(RedisGCRAScript.script, keys: [key], arguments: arguments).flatMapThrowing { reply in
            try RedisGCRAReply(reply: reply)
        }
    }
}
