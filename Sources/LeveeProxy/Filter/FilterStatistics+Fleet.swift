import Levee
import LeveeRESP
import LeveeRedis

/// The global rules' counters (docs/fleet.md) for `/metrics` and `/status`.
extension FilterStatistics {
    /// The rules with `scope = "global"` and their fleet counters.
    public var fleetRules: [(name: String, statistics: FleetLimiterStatistics)] {
        rules.compactMap { rule in rule.fleet.map { (rule.name, $0) } }
    }

    /// Families `levee_fleet_*` per global rule and `levee_redis_*` for the shared connection;
    /// "" without global rules.
    public var fleetPrometheusText: String {
        let fleet = fleetRules
        guard let redis = fleet.first?.statistics.redis else { return "" }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func line(_ name: String, _ labels: [(String, String)], _ value: some Numeric) {
            let text = labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",")
            out += labels.isEmpty ? "\(name) \(value)\n" : "\(name){\(text)} \(value)\n"
        }
        family("levee_fleet_redis_up", "gauge", "1 when the global rule's last Redis call succeeded, 0 when its fail mode applies.")
        for (name, s) in fleet { line("levee_fleet_redis_up", [("rule", name)], s.redisAvailable ? 1 : 0) }
        family("levee_fleet_decisions_total", "counter", "Global-rule decisions, per rule and result.")
        for (name, s) in fleet {
            line("levee_fleet_decisions_total", [("rule", name), ("result", "admitted")], s.admitted)
            line("levee_fleet_decisions_total", [("rule", name), ("result", "denied")], s.denied)
        }
        family("levee_fleet_credit_tokens_total", "counter", "Tokens spent on initial credit before a key's first lease.")
        for (name, s) in fleet { line("levee_fleet_credit_tokens_total", [("rule", name)], s.admittedOnCredit) }
        family("levee_fleet_fail_mode_total", "counter", "Decisions taken by the fail mode while Redis was unavailable.")
        for (name, s) in fleet {
            line("levee_fleet_fail_mode_total", [("rule", name), ("mode", "open"), ("result", "admitted")], s.failOpenAdmitted)
            line("levee_fleet_fail_mode_total", [("rule", name), ("mode", "open"), ("result", "denied")], s.failOpenDenied)
            line("levee_fleet_fail_mode_total", [("rule", name), ("mode", "closed"), ("result", "denied")], s.failClosedDenied)
        }
        family("levee_fleet_leases_total", "counter", "Lease requests to Redis, per rule and result.")
        for (name, s) in fleet {
            line("levee_fleet_leases_total", [("rule", name), ("result", "sent")], s.leaseRequests)
            line("levee_fleet_leases_total", [("rule", name), ("result", "answered")], s.leaseSuccesses)
            line("levee_fleet_leases_total", [("rule", name), ("result", "failed")], s.leaseFailures)
        }
        family("levee_fleet_leased_tokens_total", "counter", "Tokens granted by Redis.")
        for (name, s) in fleet { line("levee_fleet_leased_tokens_total", [("rule", name)], s.tokensLeased) }
        family("levee_fleet_keys", "gauge", "Keys with local lease state.")
        for (name, s) in fleet { line("levee_fleet_keys", [("rule", name)], s.trackedKeys) }
        family("levee_fleet_evictions_total", "counter", "Keys dropped from the local lease table (their tokens are lost, never duplicated).")
        for (name, s) in fleet { line("levee_fleet_evictions_total", [("rule", name)], s.evictions) }

        family("levee_redis_connected", "gauge", "1 while the connection to Redis is up.")
        line("levee_redis_connected", [], redis.isConnected ? 1 : 0)
        family("levee_redis_commands_total", "counter", "Redis commands, by result.")
        line("levee_redis_commands_total", [("result", "sent")], redis.commandsSent)
        line("levee_redis_commands_total", [("result", "replied")], redis.replies)
        line("levee_redis_commands_total", [("result", "server_error")], redis.serverErrors)
        line("levee_redis_commands_total", [("result", "timeout")], redis.timeouts)
        line("levee_redis_commands_total", [("result", "connection_error")], redis.connectionErrors)
        family("levee_redis_connects_total", "counter", "Connection attempts to Redis, by result.")
        line("levee_redis_connects_total", [("result", "connected")], redis.connects)
        line("levee_redis_connects_total", [("result", "failed")], redis.connectFailures)
        family("levee_redis_latency_seconds", "summary", "Time from sending a Redis command to its reply.")
        line("levee_redis_latency_seconds_sum", [], Double(redis.latencySumNanoseconds) / 1e9)
        line("levee_redis_latency_seconds_count", [], redis.replies)
        family("levee_redis_latency_seconds_max", "gauge", "The slowest Redis reply so far.")
        line("levee_redis_latency_seconds_max", [], Double(redis.latencyMaximumNanoseconds) / 1e9)
        return out
    }

    /// `{"rules":{"NAME":{"redis_available":true,…}},"redis":{…}}` for `/status`; nil without global rules.
    var fleetJSON: String? {
        let fleet = fleetRules
        guard let redis = fleet.first?.statistics.redis else { return nil }
        var out = "{\"rules\":{"
        out += fleet.map { name, s in
            RateLimitResponse.jsonString(name) + ":{\"redis_available\":\(s.redisAvailable),\"admitted\":\(s.admitted)"
                + ",\"denied\":\(s.denied),\"admitted_on_credit\":\(s.admittedOnCredit),\"fail_open_admitted\":\(s.failOpenAdmitted)"
                + ",\"fail_open_denied\":\(s.failOpenDenied),\"fail_closed_denied\":\(s.failClosedDenied)"
                + ",\"lease_requests\":\(s.leaseRequests),\"lease_successes\":\(s.leaseSuccesses),\"lease_failures\":\(s.leaseFailures)"
                + ",\"tokens_leased\":\(s.tokensLeased),\"tracked_keys\":\(s.trackedKeys),\"evictions\":\(s.evictions)}"
        }.joined(separator: ",")
        out += "},\"redis\":{\"connected\":\(redis.isConnected),\"commands_sent\":\(redis.commandsSent),\"replies\":\(redis.replies)"
        out += ",\"server_errors\":\(redis.serverErrors),\"timeouts\":\(redis.timeouts),\"connection_errors\":\(redis.connectionErrors)"
        out += ",\"connects\":\(redis.connects),\"connect_failures\":\(redis.connectFailures)"
        out += ",\"latency_mean_ms\":\(redis.replies == 0 ? 0 : Double(redis.latencySumNanoseconds) / Double(redis.replies) / 1e6)"
        out += ",\"latency_max_ms\":\(Double(redis.latencyMaximumNanoseconds) / 1e6)}}"
        return out
    }
}
