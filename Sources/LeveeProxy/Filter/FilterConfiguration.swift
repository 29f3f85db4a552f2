/// Configuration of the flood filter (trusted networks, rules, challenge, bans).
/// Filled in by the flood-filter work (issue #4); empty means "allow everything".
public struct FilterConfiguration: Sendable, Equatable {
    public init() {}
}
