import LeveeRESP

/// The GCRA step as a Lua script that Redis runs atomically (`EVALSHA`), for quotas shared by a
/// fleet of instances. It is the core's step (`Levee.GCRACell`) in microseconds:
///
/// - The bucket is one Redis string: the theoretical arrival time (TAT) in microseconds.
///   A missing key is a full bucket, exactly like the core's idle key.
/// - Time is Redis's own clock (`TIME`) unless the caller passes one. Using the server's clock
///   means every instance of the fleet measures time on the same clock, so clock skew between
///   proxies cannot create or destroy tokens. Tests pass their own time to compare decisions
///   with the core step by step.
/// - After a change the key expires when the bucket is full again (`SET … PX`): a full bucket and
///   a missing key are the same state, so Redis memory follows the clients active within one
///   bucket-refill time.
/// - Lua numbers are doubles: microseconds since 1970 (about 2^51) stay exact; nanoseconds would not.
///
/// Arguments: `KEYS[1]` the bucket; `ARGV` = interval µs, tolerance µs, wanted tokens, mode
/// (`all`: all or nothing, the core's `acquire(cost:)`; `upto`: as many as available up to the
/// wanted count, a lease), debt (tokens already spent on credit, charged unconditionally, even
/// past empty, so that over time nothing admitted goes uncounted), "now" in µs or empty, and
/// extra milliseconds added to the expiry (0 with Redis's clock; a caller that passes its own
/// clock passes the most that clock may run behind real time, since Redis expires keys in real time).
///
/// Reply: `{granted, tat - now, now}` in tokens and microseconds (see ``RedisGCRAReply``).
public enum RedisGCRAScript {
    /// The script.
    public static let script = RESPScript(#"""
        local interval = tonumber(ARGV[1])
        local tolerance = tonumber(ARGV[2])
        local want = tonumber(ARGV[3])
        local all = ARGV[4] == 'all'
        local debt = tonumber(ARGV[5])
        local now
        if ARGV[6] ~= nil and ARGV[6] ~= '' then
          now = tonumber(ARGV[6])
        else
          local t = redis.call('TIME')
          now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        end
        local stored = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
        local tat = math.max(stored, now) + debt * interval
        local limit = now + tolerance
        local granted = 0
        if tat < limit then granted = math.floor((limit - tat) / interval) end
        if granted > want then granted = want end
        if all and granted < want then granted = 0 end
        tat = tat + granted * interval
        if granted > 0 or debt > 0 then
          local slack = tonumber(ARGV[7] or '0') or 0
          redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.max(1, math.ceil((tat - now) / 1000) + slack))
        end
        return {granted, tat - now, now}
        """#)
}
