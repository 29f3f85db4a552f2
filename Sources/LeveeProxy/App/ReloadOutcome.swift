/// The result of a reload (SIGHUP or `POST /admin/reload`).
public enum ReloadOutcome: Sendable, Equatable {
    /// The new configuration is serving new requests.
    case applied(routes: Int, upstreams: Int)
    /// The old configuration keeps serving; these are the reasons.
    case rejected([ConfigurationError])

    public var isApplied: Bool {
        if case .applied = self { return true }
        return false
    }
}

extension ReloadOutcome: Encodable {
    private enum CodingKeys: String, CodingKey { case result, routes, upstreams, errors }
    private struct ErrorBody: Encodable {
        var file: String
        var line: Int?
        var field: String
        var message: String
        var text: String
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .applied(let routes, let upstreams):
            try container.encode("applied", forKey: .result)
            try container.encode(routes, forKey: .routes)
            try container.encode(upstreams, forKey: .upstreams)
        case .rejected(let errors):
            try container.encode("rejected", forKey: .result)
            try container.encode(
                errors.map { ErrorBody(file: $0.file, line: $0.line, field: $0.field, message: $0.message, text: $0.description) },
                forKey: .errors)
        }
    }
}
