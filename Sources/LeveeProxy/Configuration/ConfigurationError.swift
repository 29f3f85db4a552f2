/// A problem in a configuration file, naming the file, the line (when known) and the field.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    /// Dotted path of the field, e.g. `upstream.api.backends[0]`.
    public var field: String
    public var message: String

    public init(file: String, line: Int?, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    /// `config/levee.toml:12: routes[0].upstream: no upstream named "api"`
    public var description: String {
        "\(file):\(line.map(String.init) ?? "?"): \(field): \(message)"
    }
}

/// All problems found in one file (validation reports every error, not just the first).
public struct ConfigurationErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigurationError]
    public init(_ errors: [ConfigurationError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
