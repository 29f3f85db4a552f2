/// The same document as `FilterStatistics.json`, through `Encodable`, so that it can be a section
/// of `/status` (which is encoded with `JSONEncoder`).
extension FilterStatistics: Encodable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(requests, forKey: Key("requests"))
        var rulesContainer = container.nestedContainer(keyedBy: Key.self, forKey: Key("rules"))
        for rule in rules {
            var counts = rulesContainer.nestedContainer(keyedBy: Key.self, forKey: Key(rule.name))
            for outcome in FilterOutcome.allCases { try counts.encode(rule[outcome], forKey: Key(outcome.rawValue)) }
        }
        var classContainer = container.nestedContainer(keyedBy: Key.self, forKey: Key("classes"))
        for c in ClientClass.allCases { try classContainer.encode(classes[c] ?? 0, forKey: Key(c.rawValue)) }
        try container.encode(refusedWhileBanned, forKey: Key("refused_while_banned"))
        try container.encode(challengesPassed, forKey: Key("challenges_passed"))
        try container.encode(challengesFailed, forKey: Key("challenges_failed"))
        try container.encode(untrustedForwarding, forKey: Key("untrusted_forwarding"))
        try container.encode(activeBans, forKey: Key("active_bans"))
        try container.encode(topTalkers, forKey: Key("top_talkers"))
        let fleet = fleetRules
        if let redis = fleet.first?.statistics.redis {
            var fleetContainer = container.nestedContainer(keyedBy: Key.self, forKey: Key("fleet"))
            var rulesOfFleet = fleetContainer.nestedContainer(keyedBy: Key.self, forKey: Key("rules"))
            for (name, s) in fleet {
                var r = rulesOfFleet.nestedContainer(keyedBy: Key.self, forKey: Key(name))
                try r.encode(s.redisAvailable, forKey: Key("redis_available"))
                for (key, value) in [("admitted", s.admitted), ("denied", s.denied), ("admitted_on_credit", s.admittedOnCredit),
                                     ("fail_open_admitted", s.failOpenAdmitted), ("fail_open_denied", s.failOpenDenied),
                                     ("fail_closed_denied", s.failClosedDenied), ("lease_requests", s.leaseRequests),
                                     ("lease_successes", s.leaseSuccesses), ("lease_failures", s.leaseFailures),
                                     ("tokens_leased", s.tokensLeased), ("tracked_keys", s.trackedKeys), ("evictions", s.evictions)] {
                    try r.encode(value, forKey: Key(key))
                }
            }
            var r = fleetContainer.nestedContainer(keyedBy: Key.self, forKey: Key("redis"))
            try r.encode(redis.isConnected, forKey: Key("connected"))
            for (key, value) in [("commands_sent", redis.commandsSent), ("replies", redis.replies), ("server_errors", redis.serverErrors),
                                 ("timeouts", redis.timeouts), ("connection_errors", redis.connectionErrors),
                                 ("connects", redis.connects), ("connect_failures", redis.connectFailures)] {
                try r.encode(value, forKey: Key(key))
            }
            try r.encode(redis.replies == 0 ? 0 : Double(redis.latencySumNanoseconds) / Double(redis.replies) / 1e6, forKey: Key("latency_mean_ms"))
            try r.encode(Double(redis.latencyMaximumNanoseconds) / 1e6, forKey: Key("latency_max_ms"))
        }
    }
}

extension FilterStatistics.TopTalker: Encodable {
    private enum CodingKeys: String, CodingKey { case client, requests, error, ja4 }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(client, forKey: .client)
        try container.encode(requests, forKey: .requests)
        try container.encode(error, forKey: .error)
        try container.encode(ja4, forKey: .ja4)
    }
}
