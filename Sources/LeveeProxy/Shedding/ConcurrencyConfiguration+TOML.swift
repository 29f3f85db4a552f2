import NIOCore

extension ConcurrencyConfiguration {
    /// Reads `[upstream.NAME.concurrency]`; unset bounds and initial limit follow the ones given.
    /// Range errors are reported on their field, and
    /// cross-field errors (min ≤ initial ≤ max) by `ProxyConfiguration.validationProblems()`.
    /// `enabled = false` keeps the section in the file but turns the limit off (nil).
    static func decode(_ reader: inout TOMLTableReader) -> ConcurrencyConfiguration? {
        var model = ConcurrencyConfiguration()
        let enabled = reader.bool("enabled") ?? true
        if let v = reader.bool("adaptive") { model.adaptive = v }
        if let v = reader.int("min_limit", in: 1...1_000_000) { model.minLimit = v }
        if let v = reader.int("max_limit", in: 1...1_000_000) {
            model.maxLimit = v
            // A small max_limit alone lowers the default minimum with it.
            if reader.table["min_limit"] == nil { model.minLimit = min(model.minLimit, v) }
        }
        if let v = reader.int("initial_limit", in: 1...1_000_000) {
            model.initialLimit = v
        } else if reader.table["initial_limit"] == nil {
            // Unset: start inside whatever bounds were given.
            model.initialLimit = min(max(model.initialLimit, model.minLimit), model.maxLimit)
        }
        if let v = reader.int("queue", in: 0...10_000_000) { model.queue = v }
        if let v = reader.duration("queue_timeout") { model.queueTimeout = v }
        if let v = reader.duration("retry_after") { model.retryAfter = v }
        return enabled ? model : nil
    }
}
