extension LoadReport {
    static func fmt(_ v: Double, _ digits: Int = 2) -> String {
        var s = String(Int((v * pow10(digits)).rounded()))
        if digits > 0 {
            let negative = s.hasPrefix("-")
            if negative { s.removeFirst() }
            while s.count <= digits { s = "0" + s }
            s.insert(".", at: s.index(s.endIndex, offsetBy: -digits))
            if negative { s = "-" + s }
        }
        return s
    }

    static func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { a, _ in a * 10 } }

    static func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(width - s.count, 0))
        return left ? s + fill : fill + s
    }

    static func percent(_ v: Double?) -> String { v.map { fmt($0 * 100, 2) + "%" } ?? "-" }

    /// The report as the terminal table.
    public var text: String {
        var out = "levee load \(target)  protocol: \(protocolName), \(Self.fmt(durationS, 1)) s, \(threads) thread(s)\n\n"
        let header = ["class", "mode", "sent", "done", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "naive p99"]
        let widths = [14, 6, 9, 9, 8, 10, 8, 8, 8, 9, 9, 10]
        func row(_ cells: [String]) -> String {
            zip(cells, widths).enumerated().map { i, cw in Self.pad(cw.0, cw.1, left: i < 2) }.joined(separator: " ") + "\n"
        }
        out += row(header)
        for c in orderedClasses + [total] {
            out += row([c.name, c.mode, String(c.requests), String(c.completed), String(c.errors.total),
                        Self.fmt(c.requestsPerSecond, 1), Self.fmt(c.latencyMs.p50), Self.fmt(c.latencyMs.p90), Self.fmt(c.latencyMs.p99),
                        Self.fmt(c.latencyMs.p999), Self.fmt(c.latencyMs.max), Self.fmt(c.latencyNaiveMs.p99)])
        }
        out += "\nstatus and errors\n"
        for c in orderedClasses + [total] {
            let codes = c.status.keys.filter { !$0.hasSuffix("xx") }.sorted().map { "\($0): \(c.status[$0]!)" }
            let e = c.errors
            let errors = [("refused", e.refused), ("reset", e.reset), ("timeout", e.timeout), ("cancelled", e.cancelled),
                          ("other", e.other)].filter { $0.1 > 0 }.map { "\($0.0): \($0.1)" }
            out += "  \(Self.pad(c.name, 14, left: true)) \((codes + errors).joined(separator: "  "))\n"
        }
        let judged = orderedClasses.filter { $0.filter.expect != "any" }
        if !judged.isEmpty {
            out += "\nfilter outcome\n"
            for c in judged {
                let f = c.filter
                var parts = ["expect \(f.expect)"]
                if f.expect == "served" {
                    parts.append("false positives \(Self.percent(f.falsePositiveRate))")
                    parts.append("recovered after \(f.timeToRecoverS.map { Self.fmt($0, 1) + " s" } ?? "-")")
                } else {
                    parts.append("false negatives \(Self.percent(f.falseNegativeRate))")
                    parts.append("mitigated after \(f.timeToMitigateS.map { Self.fmt($0, 1) + " s" } ?? "never")")
                }
                parts.append("Retry-After \(f.retryAfterSeen ? "seen" : "not seen")")
                parts.append("rate-limit fields \(f.rateLimitFieldsSeen ? "seen" : "not seen")")
                out += "  \(Self.pad(c.name, 14, left: true)) \(parts.joined(separator: ", "))\n"
            }
        }
        if !thresholds.isEmpty {
            out += "\nthresholds\n"
            for t in thresholds {
                out += "  \(t.passed ? "ok  " : "FAIL") \(t.expression)  (actual \(t.value.map { Self.fmt($0, 4) } ?? "none"))\n"
            }
            out += passed ? "\nall thresholds passed\n" : "\nTHRESHOLDS FAILED\n"
        }
        return out
    }
}

extension LoadEngine.Progress {
    /// One progress line: `[ 12s] sent 60000  done 59990  errors 0  5000 req/s`.
    public func line(previousCompleted: Int) -> String {
        "[\(LoadReport.pad(String(Int(elapsedSeconds)), 4))s] sent \(sent)  done \(completed)  errors \(errors)  \(completed - previousCompleted) req/s"
    }
}
