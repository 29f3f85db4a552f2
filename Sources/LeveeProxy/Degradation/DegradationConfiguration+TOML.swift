import TOMLKit

extension DegradationConfiguration {
    /// Reads `[degradation]` (absent: degradation off). Every problem goes to the reader's
    /// diagnostics with its field path (`degradation.tiers.elevated.when.load`), hence its line.
    ///
    /// ```toml
    /// [degradation]
    /// tick = "250ms"
    /// hold = "30s"
    /// capacity_rps = 2000
    ///
    /// [degradation.tiers.elevated]
    /// when = { load = 0.8, latency_p99 = "1s", error_rate = 0.05 }
    /// admit = ["trusted", "verified", "known", "unknown"]
    /// tighten = 0.75
    /// respond = "503"
    /// ```
    static func decode(_ reader: inout TOMLTableReader) -> DegradationConfiguration {
        guard var section = reader.table("degradation") else { return DegradationConfiguration() }
        defer { section.finish() }
        var model = DegradationConfiguration(enabled: section.bool("enabled") ?? true)
        if let tick = section.duration("tick") {
            if tick < .milliseconds(10) || tick > .seconds(10) {
                section.report("tick", "must be between 10ms and 10s")
            } else {
                model.tick = .nanoseconds(tick.nanoseconds)
            }
        }
        if let hold = section.duration("hold") { model.hold = .nanoseconds(hold.nanoseconds) }
        if model.hold < model.tick { section.report("hold", "must be at least the tick") }
        if let smoothing = section.duration("smoothing") { model.smoothing = .nanoseconds(smoothing.nanoseconds) }
        if let hysteresis = section.number("hysteresis") {
            if hysteresis < 0 || hysteresis >= 1 {
                section.report("hysteresis", "must be from 0 up to (not including) 1, e.g. 0.2")
            } else {
                model.hysteresis = hysteresis
            }
        }
        if let capacity = section.number("capacity_rps") {
            if capacity > 0 { model.capacityRPS = capacity } else { section.report("capacity_rps", "must be greater than zero") }
        }
        var loadWithoutCapacity: String?
        if var tiers = section.table("tiers") {
            for name in tiers.table.keys.sorted() {
                guard let tier = DegradationTier(rawValue: name) else {
                    _ = tiers.value(name)
                    tiers.report(name, "unknown tier (the tiers are normal, elevated, under-attack, survival)")
                    continue
                }
                guard var table = tiers.table(name) else { continue }
                decodeTier(tier, &table, into: &model)
                if tier != .normal, table.table["when"]?.table?.contains(key: "load") == true {
                    loadWithoutCapacity = loadWithoutCapacity ?? "\(table.fieldPath("when")).load"
                }
                table.finish()
            }
            tiers.finish()
        }
        checkThresholdOrder(model, &section)
        if model.capacityRPS == nil, let field = loadWithoutCapacity {
            // The default thresholds name `load` too: without a capacity it is simply not measured.
            section.diagnostics.report(field, "a load threshold needs degradation.capacity_rps (the request rate it is a fraction of)")
        }
        return model
    }

    private static func decodeTier(_ tier: DegradationTier, _ table: inout TOMLTableReader, into model: inout DegradationConfiguration) {
        var policy = model.policy(tier)
        if var when = table.table("when") {
            if tier == .normal {
                table.report("when", "normal is where the controller starts and returns: it has no thresholds")
            }
            var thresholds = TierThresholds()
            for signal in TierThresholds.Signal.allCases {
                let key = signal.rawValue
                if signal.isDuration {
                    if let amount = when.duration(key) { thresholds[signal] = Double(amount.nanoseconds) / 1e9 }
                } else if let value = when.number(key) {
                    if value <= 0 {
                        when.report(key, "must be greater than zero")
                    } else if signal == .errorRate && value > 1 {
                        when.report(key, "is a fraction of upstream exchanges: from 0 (excluded) to 1")
                    } else {
                        thresholds[signal] = value
                    }
                }
            }
            when.finish()
            if tier != .normal { model.thresholds[tier] = thresholds }
        }
        if let names = table.stringArray("admit") {
            var admitted: Set<ClientClass> = []
            for (i, name) in names.enumerated() {
                let field = "\(table.fieldPath("admit"))[\(i)]"
                guard let c = ClientClass(rawValue: name.lowercased()) else {
                    table.diagnostics.report(field, "unknown class \"\(name)\" (trusted, verified, known, unknown, suspicious)")
                    continue
                }
                if c == .banned {
                    table.diagnostics.report(field, "banned clients are never served; leave \"banned\" out")
                    continue
                }
                admitted.insert(c)
            }
            policy.admitted = admitted
        }
        if let factor = table.number("tighten") {
            if factor > 0 && factor <= 1 {
                policy.tighten = factor
            } else {
                table.report("tighten", "must be in (0, 1]: the factor applied to rule rates and bursts (0.5 halves them)")
            }
        }
        if let rules = table.stringArray("tighten_rules") { policy.tightenRules = rules }
        if let routes = table.stringArray("critical_routes") { policy.criticalRoutes = routes }
        if let respond = table.string("respond") {
            if let parsed = TierPolicy.ShedResponse(rawValue: respond) {
                policy.respond = parsed
            } else {
                table.report("respond", "must be \"503\", \"challenge\" or \"close\", not \"\(respond)\"")
            }
        }
        if let retryAfter = table.duration("retry_after") { policy.retryAfter = .nanoseconds(retryAfter.nanoseconds) }
        model.policies[tier] = policy
    }

    /// A higher tier must not be entered below a lower tier's threshold for the same signal: the
    /// controller would skip the lower tier, which is nearly always a typo.
    private static func checkThresholdOrder(_ model: DegradationConfiguration, _ section: inout TOMLTableReader) {
        let ordered: [DegradationTier] = [.elevated, .underAttack, .survival]
        for signal in TierThresholds.Signal.allCases {
            var previous: (tier: DegradationTier, value: Double)?
            for tier in ordered {
                guard let value = model.entryThresholds(tier)[signal] else { continue }
                if let previous, value < previous.value {
                    section.diagnostics.report(
                        "\(section.fieldPath("tiers")).\(tier.rawValue).when.\(signal.rawValue)",
                        "\(TierMoveReason.format(value, signal)) is below \(previous.tier.rawValue)'s \(TierMoveReason.format(previous.value, signal)): thresholds must not decrease from elevated to survival")
                }
                previous = (tier, value)
            }
        }
    }

    /// Cross-references: tier policies name existing routes and rules.
    func validationProblems(routes: [String], rules: [String]) -> [ProxyConfiguration.Problem] {
        guard enabled else { return [] }
        var problems: [ProxyConfiguration.Problem] = []
        for tier in DegradationTier.allCases {
            guard let policy = policies[tier] else { continue }
            let base = "degradation.tiers.\(tier.rawValue)"
            for (i, route) in policy.criticalRoutes.enumerated() where !routes.contains(route) {
                problems.append(.init(field: "\(base).critical_routes[\(i)]", message: "no route named \"\(route)\""))
            }
            for (i, rule) in (policy.tightenRules ?? []).enumerated() where !rules.contains(rule) {
                problems.append(.init(field: "\(base).tighten_rules[\(i)]", message: "no rule named \"\(rule)\""))
            }
        }
        return problems
    }
}

extension TOMLTableReader {
    /// A number: an integer or a float.
    mutating func number(_ key: String) -> Double? {
        guard let raw = value(key) else { return nil }
        if let n = raw.int { return Double(n) }
        if let d = raw.double, d.isFinite { return d }
        report(key, "expected a number, found \(raw.type)")
        return nil
    }
}
