import Levee

/// JSON for `/status`, `GET /admin/top` and `GET /admin/bans`, written by hand (no Foundation).
extension FilterStatistics {
    /// `{"requests":…,"rules":{"per-ip":{"allowed":…}},"classes":{…},…,"top_talkers":[…]}`
    public var json: String {
        var out = "{\"requests\":\(requests),\"rules\":{"
        out += rules.map { rule in
            RateLimitResponse.jsonString(rule.name) + ":{" + FilterOutcome.allCases.map {
                RateLimitResponse.jsonString($0.rawValue) + ":\(rule[$0])"
            }.joined(separator: ",") + "}"
        }.joined(separator: ",")
        out += "},\"classes\":{"
        out += ClientClass.allCases.map { "\"\($0.rawValue)\":\(classes[$0] ?? 0)" }.joined(separator: ",")
        out += "},\"refused_while_banned\":\(refusedWhileBanned),\"challenges_passed\":\(challengesPassed)"
        out += ",\"challenges_failed\":\(challengesFailed),\"untrusted_forwarding\":\(untrustedForwarding)"
        out += ",\"active_bans\":\(activeBans),\"top_talkers\":" + FilterStatistics.json(topTalkers)
        if let fleet = fleetJSON { out += ",\"fleet\":" + fleet }
        out += "}"
        return out
    }

    /// `[{"client":"203.0.113.5","requests":1200,"error":0,"ja4":["t13d1516h2_8daaf6152771_e5627efa2ab1"]},…]`
    public static func json(_ talkers: [TopTalker]) -> String {
        "[" + talkers.map {
            "{\"client\":\(RateLimitResponse.jsonString($0.client)),\"requests\":\($0.requests),\"error\":\($0.error),\"ja4\":["
                + $0.ja4.map(RateLimitResponse.jsonString).joined(separator: ",") + "]}"
        }.joined(separator: ",") + "]"
    }
}

extension BanList.Ban {
    /// `{"network":"203.0.113.5/32","remaining_seconds":60,"level":1,"reason":"…"}` at `now`.
    public func json(at now: UInt64) -> String {
        "{\"network\":\(RateLimitResponse.jsonString(network.description)),\"remaining_seconds\":"
            + "\(RateLimitHeaders.ceilSeconds(remaining(at: now))),\"level\":\(level),\"reason\":\(RateLimitResponse.jsonString(reason))}"
    }
}
