/// What a rule does to a request over its limit (or, for a rule without a limit, to every
/// request it matches).
public enum RuleAction: Sendable, Hashable, CustomStringConvertible {
    /// What a challenge rule does to clients that cannot run it (no `text/html` in `Accept`).
    public enum ChallengeFallback: String, Sendable, Hashable {
        /// Answer 429 like a `reject` rule.
        case reject
        /// Let the request through (feeds and API clients are never broken by the challenge).
        case pass
    }

    /// 429 with `Retry-After` and the rate-limit fields.
    case reject
    /// 403.
    case block
    /// Hold the request until its slot in the rule's schedule (nginx `burst` without `nodelay`);
    /// the burst is the queue; a full queue, or a wait over `maxDelay`, is answered with 429.
    case delay(maxDelay: Duration)
    /// The proof-of-work page for browsers; `fallback` for everything else.
    case challenge(fallback: ChallengeFallback)
    /// Hold the connection for `duration`, then answer 429 (costs the client, not us).
    case tarpit(Duration)
    /// Close the connection without an answer.
    case close
    /// Ban the client at the next rung of the ban ladder (and answer 403).
    case ban

    /// The action's name in the configuration.
    public var name: String {
        switch self {
        case .reject: "reject"
        case .block: "block"
        case .delay: "delay"
        case .challenge: "challenge"
        case .tarpit: "tarpit"
        case .close: "close"
        case .ban: "ban"
        }
    }

    public var description: String { name }

    public static let names = ["reject", "block", "delay", "challenge", "tarpit", "close", "ban"]
}
