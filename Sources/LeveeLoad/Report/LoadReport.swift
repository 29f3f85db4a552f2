/// The result of a load run: totals, one report per traffic class, the filter outcome and the verdict.
/// Encodes to the documented JSON (`--json`): see docs/load-testing.md.
public struct LoadReport: Codable, Sendable {
    /// Latency percentiles in milliseconds.
    public struct Latency: Codable, Sendable, Equatable {
        /// Percentiles 50, 90, 99 and 99.9.
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var p999: Double
        public var max: Double
        public var mean: Double
    }

    /// Requests that got no response, by cause.
    public struct Errors: Codable, Sendable, Equatable {
        public var refused: Int
        public var reset: Int
        public var timeout: Int
        public var cancelled: Int
        public var other: Int
        public var total: Int { refused + reset + timeout + cancelled + other }
    }

    /// One second of a class's time line.
    public struct TimelinePoint: Codable, Sendable, Equatable {
        public var t: Int
        public var sent: Int
        public var completed: Int
        public var served: Int
        public var blocked: Int
        public var errors: Int
        /// Per-second latency percentiles (coarse: about 19% resolution).
        public var p50Ms: Double
        public var p99Ms: Double
        enum CodingKeys: String, CodingKey {
            case t, sent, completed, served, blocked, errors, p50Ms = "p50_ms", p99Ms = "p99_ms"
        }
    }

    /// How a filter in front of the target treated the class, judged against what the class expects.
    public struct Filter: Codable, Sendable, Equatable {
        public var expect: String
        /// Legitimate requests refused (403/429/503, refused or reset) / legitimate requests sent.
        public var falsePositiveRate: Double?
        /// Attack requests served (2xx/3xx) / attack requests sent.
        public var falseNegativeRate: Double?
        /// From the class's start until 95% of its requests (over one second) are refused.
        public var timeToMitigateS: Double?
        /// From the end of the last attack until this class's per-second p99 is back at its baseline.
        public var timeToRecoverS: Double?
        public var retryAfterSeen: Bool
        public var rateLimitFieldsSeen: Bool
        enum CodingKeys: String, CodingKey {
            case expect, falsePositiveRate = "false_positive_rate", falseNegativeRate = "false_negative_rate",
                 timeToMitigateS = "time_to_mitigate_s", timeToRecoverS = "time_to_recover_s",
                 retryAfterSeen = "retry_after_seen", rateLimitFieldsSeen = "rate_limit_fields_seen"
        }

        /// Writes absent values as `null` (documented members are always present).
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(expect, forKey: .expect)
            try c.encode(falsePositiveRate, forKey: .falsePositiveRate)
            try c.encode(falseNegativeRate, forKey: .falseNegativeRate)
            try c.encode(timeToMitigateS, forKey: .timeToMitigateS)
            try c.encode(timeToRecoverS, forKey: .timeToRecoverS)
            try c.encode(retryAfterSeen, forKey: .retryAfterSeen)
            try c.encode(rateLimitFieldsSeen, forKey: .rateLimitFieldsSeen)
        }
    }

    /// Measurements of one class (or of all of them, for `total`).
    public struct ClassReport: Codable, Sendable {
        public var name: String
        /// "open" (constant arrival rate), "closed" (as fast as the connections allow) or "replay".
        public var mode: String
        public var targetRate: Double?
        public var connections: Int
        /// Requests sent (= completed + errors).
        public var requests: Int
        public var completed: Int
        public var errors: Errors
        /// Completed requests per second of the class's active time, by the engine's clock.
        public var requestsPerSecond: Double
        public var elapsedS: Double
        /// Response counts by code ("200", "429", …) and by class ("2xx", "4xx", …).
        public var status: [String: Int]
        /// Latency from the intended send time (coordinated omission corrected).
        public var latencyMs: Latency
        /// Latency from the actual send time (service time; what a naive tool reports).
        public var latencyNaiveMs: Latency
        public var successRate: Double
        public var blockedRate: Double
        public var bytesReceived: Int
        public var timeline: [TimelinePoint]
        public var filter: Filter

        enum CodingKeys: String, CodingKey {
            case name, mode, targetRate = "target_rate", connections, requests, completed, errors,
                 requestsPerSecond = "requests_per_second", elapsedS = "elapsed_s", status,
                 latencyMs = "latency_ms", latencyNaiveMs = "latency_naive_ms", successRate = "success_rate",
                 blockedRate = "blocked_rate", bytesReceived = "bytes_received", timeline, filter
        }

        /// Metric names a threshold can use (plus `status_NNN` and `status_Nxx`).
        public static let metricNames: [String] = [
            "requests", "completed", "errors", "error_rate", "rps", "requests_per_second", "success_rate",
            "served_rate", "blocked_rate", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms",
            "naive_p99_ms", "false_positive_rate", "false_negative_rate", "time_to_mitigate_s", "time_to_recover_s",
        ]

        /// The value of a threshold metric, or nil when the run gave it no value (which fails the threshold).
        public func metric(_ name: String) -> Double? {
            let sent = Double(max(requests, 1))
            switch name {
            case "requests": return Double(requests)
            case "completed": return Double(completed)
            case "errors": return Double(errors.total)
            case "error_rate": return Double(errors.total) / sent
            case "rps", "requests_per_second": return requestsPerSecond
            case "success_rate", "served_rate": return successRate
            case "blocked_rate": return blockedRate
            case "p50_ms": return latencyMs.p50
            case "p90_ms": return latencyMs.p90
            case "p99_ms": return latencyMs.p99
            case "p999_ms": return latencyMs.p999
            case "max_ms": return latencyMs.max
            case "mean_ms": return latencyMs.mean
            case "naive_p99_ms": return latencyNaiveMs.p99
            case "false_positive_rate": return filter.falsePositiveRate
            case "false_negative_rate": return filter.falseNegativeRate
            case "time_to_mitigate_s": return filter.timeToMitigateS
            case "time_to_recover_s": return filter.timeToRecoverS
            default:
                if name.hasPrefix("status_") { return Double(status[String(name.dropFirst(7))] ?? 0) }
                return nil
            }
        }
    }

    /// One threshold and how the run fared against it.
    public struct ThresholdResult: Codable, Sendable, Equatable {
        public var expression: String
        public var value: Double?
        public var passed: Bool
    }

    public var target: String
    /// The application protocol spoken to the target: "http/1.1" or "h2".
    public var protocolName: String
    public var durationS: Double
    public var threads: Int
    public var total: ClassReport
    public var classes: [String: ClassReport]
    /// Class names in scenario order (JSON objects have none).
    public var classOrder: [String]
    public var thresholds: [ThresholdResult]
    /// False when a threshold failed: the command then exits non-zero.
    public var passed: Bool

    enum CodingKeys: String, CodingKey {
        case target, protocolName = "protocol", durationS = "duration_s", threads, total, classes, classOrder = "class_order", thresholds, passed
    }

    /// Classes in scenario order.
    public var orderedClasses: [ClassReport] { classOrder.compactMap { classes[$0] } }

    /// Evaluates thresholds against this report and sets the verdict.
    public mutating func evaluate(_ thresholds: [Threshold]) {
        self.thresholds = thresholds.map { t in
            let subject = t.scope == "total" ? total : classes[t.scope]
            let value = subject?.metric(t.metric)
            return ThresholdResult(expression: t.expression, value: value, passed: value.map { t.holds(for: $0) } ?? false)
        }
        passed = self.thresholds.allSatisfy(\.passed)
    }
}

import Foundation

extension LoadReport {
    /// The report as one JSON object (sorted keys, stable for diffs).
    public var jsonString: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
