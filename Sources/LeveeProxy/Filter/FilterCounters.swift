import Levee
import LeveeRedis

/// What happened to a request, as counted per rule.
public enum FilterOutcome: String, Sendable, CaseIterable {
    /// Within the rule's limit (counted for every enforced rule that admitted the request).
    case allowed
    /// Refused with 429 (reject, a full delay queue, a challenge's reject fallback).
    case limited
    /// Admitted, but held until its slot (delay rules).
    case delayed
    /// Refused with 403.
    case blocked
    /// Sent the proof-of-work page.
    case challenged
    case tarpitted
    case closed
    /// The rule banned the client (its own `ban` action, or an automatic ban after it).
    case banned
    /// A log-only rule would have acted.
    case logOnly = "log-only"
}

/// Counters of one rule, one striped counter per outcome (no shared cache line on the hot path).
final class RuleCounters: Sendable {
    let counters: [StripedCounter]
    init() { counters = FilterOutcome.allCases.map { _ in StripedCounter() } }
    func add(_ outcome: FilterOutcome) {
        counters[FilterOutcome.allCases.firstIndex(of: outcome)!].add(1, stripe: StripedCounter.currentThreadStripe)
    }
    var snapshot: [FilterOutcome: Int] {
        var out: [FilterOutcome: Int] = [:]
        for (i, o) in FilterOutcome.allCases.enumerated() { out[o] = counters[i].value }
        return out
    }
}

/// A consistent-enough copy of the filter's counters for `/status`, `/metrics` and tests.
public struct FilterStatistics: Sendable, Equatable {
    /// One rule's counts by outcome.
    public struct Rule: Sendable, Equatable {
        public var name: String
        public var counts: [FilterOutcome: Int]
        /// A global rule's leases, fail-mode decisions and Redis counters (nil for local rules).
        public var fleet: FleetLimiterStatistics?
        public subscript(_ outcome: FilterOutcome) -> Int { counts[outcome] ?? 0 }

        public init(name: String, counts: [FilterOutcome: Int], fleet: FleetLimiterStatistics? = nil) {
            self.name = name
            self.counts = counts
            self.fleet = fleet
        }
    }

    /// One entry of the top-talker list.
    public struct TopTalker: Sendable, Equatable {
        /// The client address as text.
        public var client: String
        /// Requests counted (an upper bound: the sketch may overestimate by `error`).
        public var requests: UInt64
        public var error: UInt64
        /// TLS client fingerprints (JA4) this client was seen with, sorted (a few at most;
        /// empty for plain-HTTP clients).
        public var ja4: [String]

        public init(client: String, requests: UInt64, error: UInt64, ja4: [String] = []) {
            self.client = client
            self.requests = requests
            self.error = error
            self.ja4 = ja4
        }
    }

    public var requests: Int
    public var rules: [Rule]
    /// Requests by the class their client had.
    public var classes: [ClientClass: Int]
    /// Requests refused because of an active ban.
    public var refusedWhileBanned: Int
    public var challengesPassed: Int
    public var challengesFailed: Int
    /// Forwarding headers or PROXY addresses ignored because the peer was not a trusted hop.
    public var untrustedForwarding: Int
    public var activeBans: Int
    public var topTalkers: [TopTalker]

    /// The rule named `name`.
    public func rule(_ name: String) -> Rule? { rules.first { $0.name == name } }
}
