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
