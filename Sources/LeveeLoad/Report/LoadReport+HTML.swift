extension LoadReport {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences("&", "&amp;").replacingOccurrences("<", "&lt;").replacingOccurrences(">", "&gt;")
            .replacingOccurrences("\"", "&quot;")
    }

    /// A self-contained HTML page (inline SVG, no scripts, no network) with, per class, the time line
    /// (sent, served, blocked, errors per second), per-second latency, and the latency distribution.
    public var html: String {
        var out = """
        <!doctype html><html><head><meta charset="utf-8"><title>levee load report</title>
        <style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
        td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}th:first-child,td:first-child{text-align:left}
        .fail{color:#b00}.ok{color:#070}svg{background:#fafafa;border:1px solid #ddd;margin:4px}</style></head><body>
        <h1>levee load</h1><p>\(Self.escape(target)), protocol \(Self.escape(protocolName)), \(Self.fmt(durationS, 1)) s, \(threads) thread(s)</p>
        <table><tr><th>class</th><th>mode</th><th>sent</th><th>completed</th><th>errors</th><th>req/s</th>
        <th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>naive p99 ms</th></tr>

        """
        for c in orderedClasses + [total] {
            out += "<tr><td>\(Self.escape(c.name))</td><td>\(c.mode)</td><td>\(c.requests)</td><td>\(c.completed)</td>"
            out += "<td>\(c.errors.total)</td><td>\(Self.fmt(c.requestsPerSecond, 1))</td><td>\(Self.fmt(c.latencyMs.p50))</td>"
            out += "<td>\(Self.fmt(c.latencyMs.p90))</td><td>\(Self.fmt(c.latencyMs.p99))</td><td>\(Self.fmt(c.latencyMs.p999))</td>"
            out += "<td>\(Self.fmt(c.latencyMs.max))</td><td>\(Self.fmt(c.latencyNaiveMs.p99))</td></tr>\n"
        }
        out += "</table>\n"
        if !thresholds.isEmpty {
            out += "<h2>Thresholds</h2><ul>"
            for t in thresholds {
                out += "<li class=\"\(t.passed ? "ok" : "fail")\">\(t.passed ? "ok" : "FAIL") \(Self.escape(t.expression))"
                out += " (actual \(t.value.map { Self.fmt($0, 4) } ?? "none"))</li>"
            }
            out += "</ul>\n"
        }
        for c in orderedClasses {
            out += "<h2>\(Self.escape(c.name))</h2>\n<p>expect \(c.filter.expect)"
            if let fp = c.filter.falsePositiveRate { out += ", false positives \(Self.percent(fp))" }
            if let fn = c.filter.falseNegativeRate { out += ", false negatives \(Self.percent(fn))" }
            if let t = c.filter.timeToMitigateS { out += ", mitigated after \(Self.fmt(t, 1)) s" }
            if let t = c.filter.timeToRecoverS { out += ", recovered after \(Self.fmt(t, 1)) s" }
            out += "</p>\n"
            let t = c.timeline
            out += Self.lineChart(
                title: "requests per second",
                series: [("sent", "#888", t.map { Double($0.sent) }), ("served", "#2a7", t.map { Double($0.served) }),
                         ("blocked", "#d80", t.map { Double($0.blocked) }), ("errors", "#c22", t.map { Double($0.errors) })],
                xLabel: "second")
            out += Self.lineChart(
                title: "latency per second (ms, from intended send time)",
                series: [("p50", "#27c", t.map(\.p50Ms)), ("p99", "#a2c", t.map(\.p99Ms))], xLabel: "second")
            let l = c.latencyMs, n = c.latencyNaiveMs
            out += Self.barChart(
                title: "latency percentiles (ms): corrected vs naive",
                labels: ["p50", "p90", "p99", "p99.9", "max"],
                series: [("corrected", "#a2c", [l.p50, l.p90, l.p99, l.p999, l.max]),
                         ("naive", "#27c", [n.p50, n.p90, n.p99, n.p999, n.max])])
        }
        out += "</body></html>\n"
        return out
    }

    static func lineChart(title: String, series: [(String, String, [Double])], xLabel: String) -> String {
        let w = 640.0, h = 200.0, left = 50.0, bottom = 24.0, top = 20.0
        let count = series.map(\.2.count).max() ?? 0
        let maxY = max(series.flatMap(\.2).max() ?? 0, 1e-9)
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\">"
        s += "<text x=\"\(left)\" y=\"14\" font-size=\"12\">\(escape(title))</text>"
        s += "<line x1=\"\(left)\" y1=\"\(h - bottom)\" x2=\"\(w - 10)\" y2=\"\(h - bottom)\" stroke=\"#999\"/>"
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(h - bottom)\" stroke=\"#999\"/>"
        s += "<text x=\"2\" y=\"\(top + 10)\" font-size=\"10\">\(fmt(maxY, maxY < 10 ? 2 : 0))</text>"
        s += "<text x=\"\(w - 60)\" y=\"\(h - 6)\" font-size=\"10\">\(xLabel) \(max(count - 1, 0))</text>"
        for (i, (name, color, values)) in series.enumerated() {
            let points = values.enumerated().map { x, y -> String in
                let px = left + (count > 1 ? Double(x) / Double(count - 1) : 0) * (w - left - 10)
                let py = h - bottom - y / maxY * (h - bottom - top)
                return "\(fmt(px, 1)),\(fmt(py, 1))"
            }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(points)\"/>"
            s += "<text x=\"\(Int(left) + 200 + i * 80)\" y=\"14\" font-size=\"11\" fill=\"\(color)\">\(escape(name))</text>"
        }
        return s + "</svg>\n"
    }

    static func barChart(title: String, labels: [String], series: [(String, String, [Double])]) -> String {
        let w = 640.0, h = 200.0, left = 50.0, bottom = 24.0, top = 20.0
        let maxY = max(series.flatMap(\.2).max() ?? 0, 1e-9)
        let group = (w - left - 10) / Double(labels.count)
        let bar = group * 0.8 / Double(series.count)
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\">"
        s += "<text x=\"\(left)\" y=\"14\" font-size=\"12\">\(escape(title))</text>"
        s += "<text x=\"2\" y=\"\(top + 10)\" font-size=\"10\">\(fmt(maxY, 1))</text>"
        for (g, label) in labels.enumerated() {
            let gx = left + Double(g) * group
            s += "<text x=\"\(fmt(gx + group * 0.3, 1))\" y=\"\(h - 6)\" font-size=\"10\">\(label)</text>"
            for (i, (_, color, values)) in series.enumerated() {
                let v = values[g]
                let bh = v / maxY * (h - bottom - top)
                s += "<rect x=\"\(fmt(gx + group * 0.1 + Double(i) * bar, 1))\" y=\"\(fmt(h - bottom - bh, 1))\" width=\"\(fmt(bar, 1))\" height=\"\(fmt(bh, 1))\" fill=\"\(color)\"><title>\(fmt(v, 3)) ms</title></rect>"
            }
        }
        for (i, (name, color, _)) in series.enumerated() {
            s += "<text x=\"\(Int(left) + 300 + i * 90)\" y=\"14\" font-size=\"11\" fill=\"\(color)\">\(escape(name))</text>"
        }
        return s + "</svg>\n"
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
