/// The flood filter's counters in the Prometheus text format (version 0.0.4), computed when
/// `/metrics` is scraped from the striped counters: the hot path updates no metric object.
extension FilterStatistics {
    /// Families: `levee_filter_evaluated_total`, `levee_filter_requests_total{rule,outcome}`,
    /// `levee_filter_class_total{class}`, `levee_filter_refused_while_banned_total`,
    /// `levee_filter_challenges_total{result}`, `levee_filter_untrusted_forwarding_total`,
    /// `levee_filter_active_bans`, and with global rules the `levee_fleet_*` and `levee_redis_*`
    /// families (docs/fleet.md). Counters restart from zero when a reload builds a new filter
    /// (Prometheus treats a decrease as a counter reset).
    public var prometheusText: String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        family("levee_filter_evaluated_total", "counter", "Requests evaluated by the flood filter.")
        out += "levee_filter_evaluated_total \(requests)\n"
        family("levee_filter_requests_total", "counter", "Flood-filter rule outcomes, per rule and outcome.")
        for rule in rules {
            for outcome in FilterOutcome.allCases {
                out += "levee_filter_requests_total{rule=\"\(Self.escapeLabel(rule.name))\",outcome=\"\(outcome.rawValue)\"} \(rule[outcome])\n"
            }
        }
        family("levee_filter_class_total", "counter", "Requests by the class of their client.")
        for c in ClientClass.allCases {
            out += "levee_filter_class_total{class=\"\(c.rawValue)\"} \(classes[c] ?? 0)\n"
        }
        family("levee_filter_refused_while_banned_total", "counter", "Requests refused because their client was banned.")
        out += "levee_filter_refused_while_banned_total \(refusedWhileBanned)\n"
        family("levee_filter_challenges_total", "counter", "Challenge answers checked, by result.")
        out += "levee_filter_challenges_total{result=\"passed\"} \(challengesPassed)\n"
        out += "levee_filter_challenges_total{result=\"failed\"} \(challengesFailed)\n"
        family("levee_filter_untrusted_forwarding_total", "counter", "Forwarding headers or PROXY addresses ignored from untrusted peers.")
        out += "levee_filter_untrusted_forwarding_total \(untrustedForwarding)\n"
        family("levee_filter_active_bans", "gauge", "Bans in force now.")
        out += "levee_filter_active_bans \(activeBans)\n"
        out += fleetPrometheusText
        return out
    }

    /// A label value with `\`, `"` and newlines escaped as the text format requires.
    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
