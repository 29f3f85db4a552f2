/// A pass/fail condition on the report, as in k6: `legit.p99_ms < 50`, `attack.served_rate < 0.01`.
public struct Threshold: Sendable, Equatable {
    /// The comparison operators a threshold can use.
    public enum Comparison: String, Sendable, CaseIterable {
        case lessOrEqual = "<=", greaterOrEqual = ">=", equal = "==", notEqual = "!=", less = "<", greater = ">"
    }

    /// The text as written.
    public var expression: String
    /// A class name or `total`.
    public var scope: String
    /// A metric name (see ``LoadReport/ClassReport/metric(_:)``).
    public var metric: String
    public var comparison: Comparison
    public var value: Double

    /// Parses `scope.metric OP number`.
    public init(_ expression: String) throws(LoadError) {
        self.expression = expression
        var found: (Comparison, Range<String.Index>)?
        for op in Comparison.allCases {  // two-character operators first (allCases order)
            if let r = expression.range(of: op.rawValue) { found = (op, r); break }
        }
        guard let (op, range) = found else { throw .invalidThreshold(expression, "no comparison (<, <=, >, >=, ==, !=)") }
        let lhs = expression[..<range.lowerBound].trimmingSpaces()
        let rhs = String(expression[range.upperBound...]).trimmingSpaces()
        guard let dot = lhs.firstIndex(of: ".") else { throw .invalidThreshold(expression, "left side must be class.metric") }
        scope = String(lhs[..<dot])
        metric = String(lhs[lhs.index(after: dot)...])
        guard let v = Double(rhs) else { throw .invalidThreshold(expression, "right side must be a number") }
        guard LoadReport.ClassReport.metricNames.contains(metric) || metric.hasPrefix("status_") else {
            throw .invalidThreshold(expression, "unknown metric \(metric); known: \(LoadReport.ClassReport.metricNames.joined(separator: ", "))")
        }
        comparison = op
        value = v
    }

    /// Whether `actual` satisfies the condition.
    public func holds(for actual: Double) -> Bool {
        switch comparison {
        case .less: actual < value
        case .lessOrEqual: actual <= value
        case .greater: actual > value
        case .greaterOrEqual: actual >= value
        case .equal: actual == value
        case .notEqual: actual != value
        }
    }
}
