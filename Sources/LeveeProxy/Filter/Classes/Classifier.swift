import Levee

/// Puts a client into its `ClientClass`. Checked in this order, the first that holds wins:
///
/// 1. `trusted`: address in `trusted` networks, or the trusted-token header carries a configured token.
/// 2. `banned`: an active ban covers the address.
/// 3. `verified`: a valid clearance cookie (signed, unexpired, issued to this /24 or /64).
/// 4. `suspicious`: went over a limit within `suspicious_for`.
/// 5. `known`: a configured session cookie or header is present, or the address is in `known` networks.
/// 6. `unknown`: everyone else.
///
/// `verified` ranks above `suspicious` on purpose: a browser that solved the challenge is not sent
/// round the challenge again for an earlier offence; if it keeps exceeding, its limits and the
/// ban ladder still apply.
public struct Classifier: Sendable {
    public let settings: ClassificationSettings
    private let trustedNetworks: NetworkList
    private let knownNetworks: NetworkList
    let bans: BanList
    let offenses: OffenseRecord
    let challenge: ChallengeAuthority

    public init(settings: ClassificationSettings, bans: BanList, offenses: OffenseRecord, challenge: ChallengeAuthority) {
        self.settings = settings
        self.trustedNetworks = NetworkList(settings.trustedNetworks)
        self.knownNetworks = NetworkList(settings.knownNetworks)
        self.bans = bans
        self.offenses = offenses
        self.challenge = challenge
    }

    /// The class of the client at `address` sending `facts`; `now` is the limiter clock
    /// (bans, offences), `wallSeconds` Unix time (cookie expiry).
    public func classify(_ facts: RequestFacts, now: UInt64, wallSeconds: Int64) -> ClientClass {
        var ban: BanList.Ban?
        return classify(facts, now: now, wallSeconds: wallSeconds, ban: &ban)
    }

    /// `classify`, also giving the ban found for a `banned` client (so it is looked up once).
    func classify(_ facts: RequestFacts, now: UInt64, wallSeconds: Int64, ban found: inout BanList.Ban?) -> ClientClass {
        guard let address = facts.address else {
            return isTrustedByToken(facts) ? .trusted : .unknown
        }
        if trustedNetworks.contains(address) || isTrustedByToken(facts) { return .trusted }
        if let ban = bans.activeBan(for: address, now: now) {
            found = ban
            return .banned
        }
        if let cookie = facts.cookie(challenge.settings.cookieName),
           case .success = challenge.validateClearance(cookie, client: address, now: wallSeconds) {
            return .verified
        }
        if offenses.isSuspicious(RuleKey.addressKey(address), at: now) { return .suspicious }
        if knownNetworks.contains(address) { return .known }
        for name in settings.knownCookies where facts.cookie(name) != nil { return .known }
        for name in settings.knownHeaders where facts.header(name) != nil { return .known }
        return .unknown
    }

    private func isTrustedByToken(_ facts: RequestFacts) -> Bool {
        guard !settings.trustedTokens.isEmpty, let value = facts.header(settings.trustedTokenHeader) else { return false }
        let presented = Array(value.utf8)
        var found = false
        // Compare with every token in constant time, so timing does not reveal a prefix.
        for token in settings.trustedTokens where HMACSHA256.constantTimeEqual(Array(token.utf8), presented) { found = true }
        return found
    }
}
