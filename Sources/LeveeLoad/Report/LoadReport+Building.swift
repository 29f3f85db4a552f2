import Histogram

extension LoadReport {
    /// What the report needs to know about a class besides its measurements.
    struct ClassInfo {
        var trafficClass: TrafficClass
        var mode: String
        /// Offsets from the run's start (ns).
        var start: Int64
        var stop: Int64
        var runStart: Int64
    }

    static func latency(_ h: Histogram<UInt64>) -> Latency {
        guard h.totalCount > 0 else { return Latency(p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0) }
        func ms(_ p: Double) -> Double { Double(h.valueAtPercentile(p)) / 1000 }
        return Latency(p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9), max: Double(h.max) / 1000, mean: h.mean / 1000)
    }

    static func classReport(name: String, mode: String, rate: Double?, connections: Int, stats s: ClassStatistics,
                            elapsed: Int64, expect: TrafficClass.Expectation) -> ClassReport {
        var status: [String: Int] = [:]
        for (code, n) in s.status.enumerated() where n > 0 {
            status[String(code)] = n
            status["\(code / 100)xx", default: 0] += n
        }
        let served = s.status[100..<400].reduce(0, +)
        let blocked = s.status[403] + s.status[429] + s.status[503] + s.errors[ErrorKind.refused.rawValue]
            + s.errors[ErrorKind.reset.rawValue]
        let sent = Double(max(s.sent, 1))
        let timeline = s.timeline.enumerated().map { i, sec in
            TimelinePoint(t: i, sent: sec.sent, completed: sec.completed, served: sec.served, blocked: sec.blocked,
                          errors: sec.errors, p50Ms: Double(sec.latency.percentile(50)) / 1000,
                          p99Ms: Double(sec.latency.percentile(99)) / 1000)
        }
        let e = s.errors
        return ClassReport(
            name: name, mode: mode, targetRate: rate, connections: connections, requests: s.sent, completed: s.completed,
            errors: Errors(refused: e[0], reset: e[1], timeout: e[2], cancelled: e[3], other: e[4]),
            requestsPerSecond: elapsed > 0 ? Double(s.completed) * 1e9 / Double(elapsed) : 0,
            elapsedS: Double(elapsed) / 1e9, status: status, latencyMs: latency(s.latency),
            latencyNaiveMs: latency(s.naiveLatency), successRate: Double(served) / sent, blockedRate: Double(blocked) / sent,
            bytesReceived: s.bytesReceived, timeline: timeline,
            filter: Filter(
                expect: expect.rawValue,
                falsePositiveRate: expect == .served ? Double(blocked) / sent : nil,
                falseNegativeRate: expect == .blocked ? Double(served) / sent : nil,
                timeToMitigateS: nil, timeToRecoverS: nil,
                retryAfterSeen: s.retryAfterSeen > 0, rateLimitFieldsSeen: s.rateLimitSeen > 0))
    }

    /// Builds the report from merged per-class statistics.
    static func make(scenario: Scenario, infos: [ClassInfo], stats: [ClassStatistics], runStart: Int64) -> LoadReport {
        var classes: [String: ClassReport] = [:]
        var total = ClassStatistics()
        var runEnd = runStart
        for (info, s) in zip(infos, stats) {
            total.merge(s)
            let c = info.trafficClass
            let end = min(max(s.finishedAt, runStart + info.start), runStart + info.stop)
            runEnd = max(runEnd, end)
            var report = classReport(name: c.name, mode: info.mode, rate: c.rate, connections: c.connections, stats: s,
                                     elapsed: end - (runStart + info.start), expect: c.expect)
            if c.expect == .blocked { report.filter.timeToMitigateS = timeToMitigate(s, startOffset: info.start) }
            classes[c.name] = report
        }
        // Recovery: from the end of the last attack until each served class's p99 is back at its pre-attack baseline.
        let attacks = zip(infos, stats).filter { $0.0.trafficClass.expect == .blocked }
        if let firstAttack = attacks.map({ $0.0.start }).min(), let lastAttackEnd = attacks.map({ $0.0.stop }).max() {
            for (info, s) in zip(infos, stats) where info.trafficClass.expect == .served {
                classes[info.trafficClass.name]?.filter.timeToRecoverS =
                    timeToRecover(s, attackStart: firstAttack, attackEnd: lastAttackEnd)
            }
        }
        let durationNs = runEnd - runStart
        var totalReport = classReport(
            name: "total", mode: infos.count == 1 ? infos[0].mode : "mixed",
            rate: infos.allSatisfy({ $0.trafficClass.rate != nil }) ? infos.compactMap { $0.trafficClass.rate }.reduce(0, +) : nil,
            connections: infos.map(\.trafficClass.connections).reduce(0, +), stats: total, elapsed: durationNs, expect: .any)
        let legit = stats.enumerated().filter { infos[$0.offset].trafficClass.expect == .served }.map(\.element)
        let attack = stats.enumerated().filter { infos[$0.offset].trafficClass.expect == .blocked }.map(\.element)
        if !legit.isEmpty {
            var m = ClassStatistics()
            for s in legit { m.merge(s) }
            totalReport.filter.falsePositiveRate = classReport(name: "", mode: "", rate: nil, connections: 0, stats: m,
                                                               elapsed: 1, expect: .served).filter.falsePositiveRate
        }
        if !attack.isEmpty {
            var m = ClassStatistics()
            for s in attack { m.merge(s) }
            totalReport.filter.falseNegativeRate = classReport(name: "", mode: "", rate: nil, connections: 0, stats: m,
                                                               elapsed: 1, expect: .blocked).filter.falseNegativeRate
            totalReport.filter.timeToMitigateS = classes.values.compactMap(\.filter.timeToMitigateS).max()
        }
        totalReport.filter.timeToRecoverS = classes.values.compactMap(\.filter.timeToRecoverS).max()
        var report = LoadReport(
            target: "\(scenario.target.tls ? "https" : "http")://\(scenario.target.hostHeader)\(scenario.target.path)",
            protocolName: scenario.protocolName, durationS: Double(durationNs) / 1e9,
            threads: scenario.threads, total: totalReport, classes: classes, classOrder: infos.map(\.trafficClass.name),
            thresholds: [], passed: true)
        report.evaluate(scenario.thresholds)
        return report
    }

    /// Seconds from the class's start until, over a one-second window, 95% of its answered requests are refused.
    static func timeToMitigate(_ s: ClassStatistics, startOffset: Int64) -> Double? {
        let first = Int(startOffset / 100_000_000)
        guard first < s.fineServed.count else { return nil }
        for f in first..<s.fineServed.count {
            let upper = min(f + 10, s.fineServed.count)
            let served = s.fineServed[f..<upper].reduce(0, +)
            let blocked = s.fineBlocked[f..<upper].reduce(0, +)
            if served + blocked > 0 && Double(blocked) >= 0.95 * Double(served + blocked) {
                return max(Double(f - first) / 10, 0)
            }
        }
        return nil
    }

    /// Seconds from `attackEnd` until the class's per-second p99 is within 1.5× (or 2 ms) of its pre-attack median.
    static func timeToRecover(_ s: ClassStatistics, attackStart: Int64, attackEnd: Int64) -> Double? {
        let before = s.timeline.prefix(Int(attackStart / 1_000_000_000)).filter { $0.completed > 0 }
            .map { $0.latency.percentile(99) }.sorted()
        guard !before.isEmpty else { return nil }
        let baseline = Double(before[before.count / 2])
        let limit = max(baseline * 1.5, baseline + 2000)
        let endSecond = Int((attackEnd + 999_999_999) / 1_000_000_000)
        guard endSecond < s.timeline.count else { return nil }
        for i in endSecond..<s.timeline.count where s.timeline[i].completed > 0 {
            if Double(s.timeline[i].latency.percentile(99)) <= limit {
                return max(Double(i) - Double(attackEnd) / 1e9, 0)
            }
        }
        return nil
    }
}
