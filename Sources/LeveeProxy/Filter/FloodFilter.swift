#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Levee
import LeveeRedis
import NIOCore
import NIOHTTP1

/// The flood filter: identifies and classifies each client, applies the rules through the
/// core's limiters, and answers, delays, challenges or bans.
///
/// `evaluate` is synchronous and never blocks: every decision is a few atomic operations in the
/// core's keyed tables; it allocates little (the rule checks of one request). It is called on the
/// connection's event loop. Order of work for one request (docs/filter.md):
///
/// 1. identify the client (socket, or a trusted hop's PROXY header / forwarding header);
/// 2. answer the challenge verification endpoint itself;
/// 3. classify; a `banned` client gets 403 with `Retry-After` until the ban ends;
/// 4. walk the rules in order, keeping those that match: the first matching enforced rule
///    without a limit (an access rule) acts at once; log-only rules are counted on their own;
/// 5. check all matching enforced limits at once with the core's multi-limit check (all or
///    nothing: a denial refunds the others); the first denying rule in file order acts;
///    then the global rules (`scope = "global"`) spend tokens leased from Redis through their
///    `FleetLimiter` — synchronously, never waiting on Redis — and a denial there refunds the rest;
/// 6. every denial is an offence: the client becomes `suspicious`, and too many earn a ban.
public final class FloodFilter: RequestFilter {
    public let configuration: FilterConfiguration
    /// Active bans (shared with the admin API; pass the old list in on reload to keep bans).
    public let bans: BanList
    public let challenge: ChallengeAuthority
    /// The Redis connection of the global rules (nil without any).
    public let fleet: FleetBackend?
    let identifier: ClientIdentifier
    let classifier: Classifier
    let offenses: OffenseRecord
    let rules: [CompiledRule]
    let clock: any LimiterClock
    let wallClock: @Sendable () -> Int64
    let topTalkers: HeavyHitters
    /// The published degradation tier (nil: tiers off, nothing is checked).
    let tiers: TierGate?
    /// Each tier's policy compiled for the hot path, by level.
    let tierRules: [CompiledTier]
    /// JA4 fingerprints per client key, shown with the top talkers.
    let talkerFingerprints: TalkerFingerprints

    let requests = StripedCounter()
    let classCounters: [StripedCounter]
    let refusedWhileBanned = StripedCounter()
    let challengesPassed = StripedCounter()
    let challengesFailed = StripedCounter()
    let untrustedForwarding = StripedCounter()
    /// 403 answers for banned clients, built once (JSON and HTML bodies).
    let bannedJSON = LocalResponse(RateLimitResponse.forbidden(accept: nil, detail: FloodFilter.bannedDetail))
    let bannedHTML = LocalResponse(RateLimitResponse.forbidden(accept: "text/html", detail: FloodFilter.bannedDetail))
    static let bannedDetail = "This client is temporarily banned."
    static let htmlBytes: [UInt8] = Array("html".utf8)

    /// A rule with its table and counters.
    struct CompiledRule: Sendable {
        let rule: FilterRule
        /// A local rule's table (nil for access rules and global rules).
        let limiter: KeyedRateLimiter?
        /// A global rule's leases (nil for every other rule).
        let fleetLimiter: FleetLimiter?
        let counters: RuleCounters
        let policy: RateLimitHeaders.Policy?
    }

    /// - Parameters:
    ///   - clock: the limiter clock (monotonic in production, `ManualClock` in tests).
    ///   - wallClock: Unix seconds, for cookie and challenge expiry (they outlive a process).
    ///   - bans: an existing ban list to keep (on reload); nil creates one from the configuration.
    ///   - degradation: the tier policies (used only with `tiers`).
    ///   - tiers: the published tier; nil turns tier policies off.
    ///   - fleet: the Redis backend of the filter being replaced (on reload): kept, with the leases
    ///     of unchanged global rules, when `[fleet]` is unchanged; otherwise a new one is made.
    public init(
        configuration: FilterConfiguration, clock: any LimiterClock = MonotonicClock(),
        wallClock: @escaping @Sendable () -> Int64 = FloodFilter.unixTime, bans: BanList? = nil,
        degradation: DegradationConfiguration = DegradationConfiguration(), tiers: TierGate? = nil,
        fleet: FleetBackend? = nil
    ) {
        self.configuration = configuration
        self.clock = clock
        self.wallClock = wallClock
        self.bans = bans ?? BanList(ladder: configuration.bans.ladder, forgetAfter: configuration.bans.forgetAfter,
                                    capacity: configuration.bans.capacity)
        self.challenge = ChallengeAuthority(settings: configuration.challenge)
        self.identifier = ClientIdentifier(trustedProxies: NetworkList(configuration.trustedProxies), header: configuration.clientHeader)
        self.offenses = OffenseRecord(suspiciousFor: configuration.classes.suspiciousFor, strikeQuota: configuration.bans.after,
                                      capacity: configuration.tableCapacity, clock: clock)
        self.classifier = Classifier(settings: configuration.classes, bans: self.bans, offenses: offenses, challenge: challenge)
        let fleetRules = configuration.fleet.map { settings in configuration.rules.compactMap { settings.fleetRule(for: $0) } } ?? []
        var fleetLimiters: [String: FleetLimiter] = [:]
        if let settings = configuration.fleet, !fleetRules.isEmpty {
            let backend = fleet?.settings == settings ? fleet! : FleetBackend(settings: settings)
            self.fleet = backend
            for limiter in backend.limiters(for: fleetRules, capacity: configuration.tableCapacity, clock: clock) {
                fleetLimiters[limiter.rule.name] = limiter
            }
        } else {
            self.fleet = nil
        }
        self.rules = configuration.rules.map { rule in
            let fleetLimiter = rule.scope.isGlobal ? fleetLimiters[rule.name] : nil
            return CompiledRule(
                rule: rule,
                limiter: rule.quota == nil || fleetLimiter != nil ? nil : KeyedRateLimiter(capacity: configuration.tableCapacity, clock: clock),
                fleetLimiter: fleetLimiter,
                counters: RuleCounters(), policy: rule.quota.map { RateLimitHeaders.Policy(name: rule.name, quota: $0) })
        }
        self.topTalkers = HeavyHitters(capacity: max(1, configuration.topTalkers), stripes: StripedCounter().stripeCount)
        self.talkerFingerprints = TalkerFingerprints(capacity: 4 * max(1, configuration.topTalkers), stripes: StripedCounter().stripeCount)
        self.classCounters = ClientClass.allCases.map { _ in StripedCounter() }
        self.tiers = degradation.enabled ? tiers : nil
        self.tierRules = DegradationTier.allCases.map {
            CompiledTier(tier: $0, policy: degradation.policy($0), rules: configuration.rules)
        }
    }

    // MARK: the decision

    public func evaluate(_ request: RequestContext) -> FilterVerdict {
        var clientClass = ClientClass.unknown
        return evaluate(request, classifiedAs: &clientClass).forwarding(as: clientClass)
    }

    /// `evaluate(_:)`, also telling the client's class (which a forwarded request carries to the
    /// upstream pool's class-ordered queue).
    func evaluate(_ request: RequestContext, classifiedAs found: inout ClientClass) -> FilterVerdict {
        let now = clock.now()
        let stripe = StripedCounter.currentThreadStripe
        requests.add(1, stripe: stripe)
        let identity = identifier.identify(request)
        if identity.ignoredUntrustedForwarding { untrustedForwarding.add(1, stripe: stripe) }
        var facts = RequestFacts(request: request, address: identity.address)
        let accept = request.head.headers.first(name: "accept")

        if request.head.method == .GET, facts.path == challenge.settings.verifyPath[...] {
            return verifyChallenge(facts, accept: accept)
        }

        var activeBan: BanList.Ban?
        let clientClass = classifier.classify(facts, now: now, wallSeconds: wallClock(), ban: &activeBan)
        facts.clientClass = clientClass
        found = clientClass
        classCounters[clientClass.rank].add(1, stripe: stripe)
        let clientKey = RuleKey.addressKey(identity.address)
        topTalkers.record(clientKey, stripe: stripe)
        if let ja4 = request.ja4 { talkerFingerprints.record(clientKey, ja4: ja4, stripe: stripe) }

        if clientClass == .banned, let ban = activeBan {
            refusedWhileBanned.add(1, stripe: stripe)
            // The flood path: a prebuilt answer, only `Retry-After` changes.
            var response = Self.mentionsHTML(accept) && AcceptPreference.prefersHTML(accept) ? bannedHTML : bannedJSON
            response.headers.replaceOrAdd(name: "Retry-After", value: RateLimitHeaders.retryAfterValue(ban.remaining(at: now)))
            return .respond(response)
        }

        // Degradation: one relaxed load; the policy is consulted only above `normal`.
        let level = tiers?.currentLevel ?? 0
        if level != 0, let verdict = shedByTier(level, clientClass: clientClass, facts: facts, accept: accept, request: request) {
            return verdict
        }
        let tier = tierRules[level]
        let tierQuotas = tier.quotas

        // The usual case is one matching limit: kept out of arrays so that it allocates nothing.
        var single: (check: LimitCheck, entry: CheckedRule)?
        var checks: [LimitCheck] = []
        var checked: [CheckedRule] = []
        var globals: [GlobalCheck] = []
        for (index, compiled) in rules.enumerated() where compiled.rule.match.matches(facts) {
            let rule = compiled.rule
            if let fleetLimiter = compiled.fleetLimiter {
                let key = rule.key.stableText(for: facts)
                if rule.logOnly {
                    if !fleetLimiter.acquire(key: key, cost: rule.cost).isAllowed { compiled.counters.add(.logOnly) }
                } else {
                    globals.append(GlobalCheck(rule: index, key: key))
                }
                continue
            }
            guard let quota = tierQuotas[index], let limiter = compiled.limiter else {
                // An access rule: acts on every request it matches.
                if rule.logOnly {
                    compiled.counters.add(.logOnly)
                    continue
                }
                if let verdict = act(compiled, decision: nil, policy: nil, facts: facts, accept: accept, request: request, now: now) {
                    return verdict
                }
                continue
            }
            let key = rule.key.limiterKey(for: facts)
            if rule.logOnly {
                // Charged on its own bucket so that its counts show what enforcing would do;
                // never part of the all-or-nothing check, so it cannot refuse anything.
                if !limiter.acquire(key, quota: quota, cost: rule.cost, at: now).isAllowed { compiled.counters.add(.logOnly) }
                continue
            }
            let check = LimitCheck.keyed(limiter, key: key, quota: quota, cost: rule.cost)
            if single == nil && checks.isEmpty {
                single = (check, CheckedRule(rule: index, key: key))
                continue
            }
            if let first = single {
                checks.append(first.check)
                checked.append(first.entry)
                single = nil
            }
            checks.append(check)
            checked.append(CheckedRule(rule: index, key: key))
        }
        if let single {
            return decide(CollectionOfOne(single.check), CollectionOfOne(single.entry), globals: globals,
                          facts: facts, accept: accept, request: request, now: now, tier: tier)
        }
        if checks.isEmpty && globals.isEmpty { return .forward(responseHeaders: [:]) }
        return decide(checks, checked, globals: globals, facts: facts, accept: accept, request: request, now: now,
                      tier: tier)
    }

    /// One global rule a request is checked against: the rule's position and its fleet-wide key.
    struct GlobalCheck {
        let rule: Int
        let key: String
    }

    /// One enforced limit a request was checked against: the rule's position and the key.
    struct CheckedRule {
        let rule: Int
        let key: LimiterKey
    }

    /// Checks all of `checks` at once (all or nothing) and turns the outcome into a verdict.
    private func decide<Checks: Collection<LimitCheck>, Entries: Collection<CheckedRule>>(
        _ checks: Checks, _ checked: Entries, globals: [GlobalCheck], facts: RequestFacts, accept: String?,
        request: RequestContext, now: UInt64, tier: CompiledTier
    ) -> FilterVerdict {
        // Global rules are not tightened by tiers: their policy is the configured one.
        func policy(_ rule: Int) -> RateLimitHeaders.Policy? {
            rules[rule].fleetLimiter == nil ? tier.policies[rule] : rules[rule].policy
        }
        func checkedRule(at position: Int) -> CheckedRule { checked[checked.index(checked.startIndex, offsetBy: position)] }
        let result = MultiLimitCheck.acquireAll(checks, at: now)
        guard result.isAllowed else {
            let rule = checkedRule(at: result.index ?? 0).rule
            return act(rules[rule], decision: result.decision, policy: policy(rule), facts: facts, accept: accept,
                       request: request, now: now)
                ?? .forward(responseHeaders: [:])
        }
        // The limit closest to biting, for the `headers = "always"` fields: (rule position, decision).
        var binding: (rule: Int, decision: RateLimitDecision)? = result.index.map { (checkedRule(at: $0).rule, result.decision) }

        // Global rules: leased tokens spent locally (never waits on Redis). A denial gives back
        // what the local limits and the earlier global rules took, like the multi-limit check.
        for (position, global) in globals.enumerated() {
            let compiled = rules[global.rule]
            let decision = compiled.fleetLimiter!.acquire(key: global.key, cost: compiled.rule.cost)
            guard decision.isAllowed else {
                for (c, e) in zip(checks, checked) { refund(c, key: e.key, at: now) }
                refundGlobals(globals[..<position])
                return act(compiled, decision: decision, policy: compiled.policy, facts: facts, accept: accept,
                           request: request, now: now)
                    ?? .forward(responseHeaders: [:])
            }
            if binding == nil || decision.remaining < binding!.decision.remaining { binding = (global.rule, decision) }
        }

        // Admitted by every limit. Delay rules hold the request until its slot in their schedule.
        var wait: UInt64 = 0
        var delayedRules: [Int] = []
        for entry in checked {
            let compiled = rules[entry.rule]
            guard case .delay(let maxDelay) = compiled.rule.action, let quota = tier.quotas[entry.rule],
                  let limiter = compiled.limiter else { continue }
            let after = limiter.peek(entry.key, quota: quota, at: now).resetAfterNanoseconds
            let own = quota.emissionIntervalNanoseconds &* UInt64(compiled.rule.cost)
            let slot = after > own ? after - own : 0
            if slot > BanList.nanoseconds(maxDelay) {
                // Waiting longer than allowed: undo every charge and refuse like a full queue.
                for (c, e) in zip(checks, checked) { refund(c, key: e.key, at: now) }
                refundGlobals(globals[...])
                let decision = RateLimitDecision(isAllowed: false, remaining: 0, limit: quota.burst,
                                                 retryAfterNanoseconds: slot - BanList.nanoseconds(maxDelay),
                                                 resetAfterNanoseconds: after)
                return act(compiled, decision: decision, policy: policy(entry.rule), facts: facts, accept: accept,
                           request: request, now: now)
                    ?? .forward(responseHeaders: [:])
            }
            if slot > 0 { delayedRules.append(entry.rule) }
            wait = max(wait, slot)
        }
        for entry in checked { rules[entry.rule].counters.add(.allowed) }
        for global in globals { rules[global.rule].counters.add(.allowed) }
        var headers = HTTPHeaders()
        if let binding, let policy = policy(binding.rule), rules[binding.rule].rule.headers == .always {
            for f in RateLimitHeaders.fields([.init(policy: policy, decision: binding.decision)]) { headers.add(name: f.name, value: f.value) }
        }
        if wait > 0 {
            for index in delayedRules { rules[index].counters.add(.delayed) }
            return .forwardAfter(delay: .nanoseconds(Int64(wait)), responseHeaders: headers)
        }
        return .forward(responseHeaders: headers)
    }

    private func refundGlobals(_ taken: ArraySlice<GlobalCheck>) {
        for global in taken {
            let compiled = rules[global.rule]
            compiled.fleetLimiter?.refund(key: global.key, tokens: compiled.rule.cost)
        }
    }

    private func refund(_ check: LimitCheck, key: LimiterKey, at now: UInt64) {
        if case .keyed(let limiter, let k) = check.target { limiter.refund(k, quota: check.quota, tokens: check.cost, at: now) }
    }

    /// Carries out `compiled`'s action. `decision` is nil for access rules. Returns nil when the
    /// request goes on (a challenge's `pass` fallback, or a client already verified).
    private func act(
        _ compiled: CompiledRule, decision: RateLimitDecision?, policy: RateLimitHeaders.Policy?, facts: RequestFacts,
        accept: String?, request: RequestContext, now: UInt64
    ) -> FilterVerdict? {
        let rule = compiled.rule
        let counters = compiled.counters
        if case .challenge(let fallback) = rule.action {
            if facts.clientClass == .verified || facts.clientClass == .trusted {
                // Proof already given: the challenge cannot tell us more.
                if decision == nil { return nil }
            } else if AcceptPreference.explicitlyAcceptsHTML(accept), let address = facts.address {
                counters.add(.challenged)
                return .respond(challengePage(for: address, returnTo: request.head.uri))
            }
            if fallback == .pass {
                counters.add(.allowed)
                return nil
            }
        }

        offend(facts, rule: compiled, now: now)
        let retryAfter = decision?.retryAfter ?? .seconds(1)
        var statuses: [RateLimitHeaders.Status] = []
        if let decision, let policy, rule.headers != .never {
            statuses = [.init(policy: policy, decision: decision)]
        }
        let tooMany = { LocalResponse(RateLimitResponse.tooManyRequests(retryAfter: retryAfter, statuses: statuses, accept: accept)) }

        switch rule.action {
        case .reject, .delay, .challenge:
            counters.add(.limited)
            return .respond(tooMany())
        case .block:
            counters.add(.blocked)
            return .respond(LocalResponse(RateLimitResponse.forbidden(accept: accept, detail: "Request blocked by rule \"\(rule.name)\".")))
        case .tarpit(let duration):
            counters.add(.tarpitted)
            return .tarpit(duration: .nanoseconds(Int64(BanList.nanoseconds(duration))), response: tooMany())
        case .close:
            counters.add(.closed)
            return .close
        case .ban:
            guard let address = facts.address else {
                counters.add(.blocked)
                return .respond(LocalResponse(RateLimitResponse.forbidden(accept: accept, detail: "Request blocked.")))
            }
            let ban = bans.escalate(address, now: now, reason: "rule \(rule.name)")
            counters.add(.banned)
            return .respond(LocalResponse(RateLimitResponse.forbidden(
                accept: accept, detail: Self.bannedDetail, retryAfter: ban.remaining(at: now))))
        }
    }

    /// Records an offence; a client out of strikes is banned (when automatic bans are on).
    private func offend(_ facts: RequestFacts, rule: CompiledRule, now: UInt64) {
        guard let address = facts.address, facts.clientClass != .trusted else { return }
        let outOfStrikes = offenses.recordOffense(RuleKey.addressKey(address), at: now)
        if outOfStrikes, configuration.bans.enabled, bans.activeBan(for: address, now: now) == nil {
            bans.escalate(address, now: now, reason: "kept exceeding rule \(rule.rule.name)")
            rule.counters.add(.banned)
        }
    }

    // MARK: challenge

    func challengePage(for address: ClientAddress, returnTo: String) -> LocalResponse {
        let token = challenge.issue(for: address, now: wallClock())
        let html = ChallengePage.html(token: token, difficulty: challenge.settings.difficulty,
                                      verifyPath: challenge.settings.verifyPath, returnTo: returnTo)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
        headers.add(name: "Cache-Control", value: "no-store")
        var body = ByteBuffer()
        body.writeString(html)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        return LocalResponse(status: .forbidden, headers: headers, body: body)
    }

    private func verifyChallenge(_ facts: RequestFacts, accept: String?) -> FilterVerdict {
        var token = "", nonce = "", back = "/"
        for item in ChallengePage.queryItems(facts.query) {
            switch item.name {
            case "c": token = item.value
            case "n": nonce = item.value
            case "r": back = item.value
            default: break
            }
        }
        guard let address = facts.address else {
            challengesFailed.add(1, stripe: StripedCounter.currentThreadStripe)
            return .respond(LocalResponse(RateLimitResponse.badRequest(accept: accept, detail: "No client address.")))
        }
        switch challenge.verify(token: token, nonce: nonce, client: address, now: wallClock()) {
        case .success(let clearance):
            challengesPassed.add(1, stripe: StripedCounter.currentThreadStripe)
            var headers = HTTPHeaders()
            headers.add(name: "Location", value: ChallengePage.safeReturnPath(back))
            headers.add(name: "Set-Cookie", value: challenge.setCookieValue(clearance))
            headers.add(name: "Cache-Control", value: "no-store")
            headers.add(name: "Content-Length", value: "0")
            return .respond(LocalResponse(status: .seeOther, headers: headers))
        case .failure(let failure):
            challengesFailed.add(1, stripe: StripedCounter.currentThreadStripe)
            let detail: String
            switch failure {
            case .malformed: detail = "Malformed challenge answer."
            case .badSignature: detail = "This challenge was not issued to this client."
            case .expired: detail = "The challenge expired; reload the page."
            case .insufficientWork: detail = "The proof of work is wrong."
            }
            return .respond(LocalResponse(RateLimitResponse.forbidden(accept: accept, detail: detail)))
        }
    }

    // MARK: observation

    /// The counters now (summed over stripes) and the top talkers.
    public func statistics(topTalkers count: Int = 10) -> FilterStatistics {
        var classes: [ClientClass: Int] = [:]
        for c in ClientClass.allCases { classes[c] = classCounters[c.rank].value }
        return FilterStatistics(
            requests: requests.value,
            rules: rules.map { FilterStatistics.Rule(name: $0.rule.name, counts: $0.counters.snapshot, fleet: $0.fleetLimiter?.statistics) },
            classes: classes, refusedWhileBanned: refusedWhileBanned.value,
            challengesPassed: challengesPassed.value, challengesFailed: challengesFailed.value,
            untrustedForwarding: untrustedForwarding.value, activeBans: bans.list(now: clock.now()).count,
            topTalkers: topTalkers(count))
    }

    /// The heaviest clients since the last `resetTopTalkers()` (for `/status` and `GET /admin/top`).
    public func topTalkers(_ count: Int = 10) -> [FilterStatistics.TopTalker] {
        topTalkers.top(count).map {
            FilterStatistics.TopTalker(
                client: $0.key.description, requests: $0.count, error: $0.error, ja4: talkerFingerprints.fingerprints(of: $0.key))
        }
    }

    /// Starts a new top-talker observation window.
    public func resetTopTalkers() {
        topTalkers.reset()
        talkerFingerprints.reset()
    }

    /// Lifts a ban and forgets the client's offences (admin API).
    @discardableResult
    public func unban(_ network: CIDR) -> Bool {
        let now = clock.now()
        if BanList.isHost(network) { offenses.forgive(RuleKey.addressKey(network.network), at: now) }
        return bans.remove(network, now: now)
    }

    /// Bans a network for `duration` (admin API).
    @discardableResult
    public func ban(_ network: CIDR, duration: Duration, reason: String) -> BanList.Ban {
        bans.add(network, duration: duration, now: clock.now(), reason: reason)
    }

    /// Active bans now (admin API).
    public func activeBans() -> [BanList.Ban] { bans.list(now: clock.now()) }

    /// The limiter clock's reading now.
    public var now: UInt64 { clock.now() }

    /// Whether `accept` contains "html" (ASCII case-insensitive): a byte scan that spares parsing
    /// the field for the API and flood clients that never ask for HTML.
    static func mentionsHTML(_ accept: String?) -> Bool {
        guard let accept else { return false }
        let pattern = htmlBytes
        var matched = 0
        for byte in accept.utf8 {
            let lower = byte | 0x20
            if lower == pattern[matched] {
                matched += 1
                if matched == pattern.count { return true }
            } else {
                matched = lower == pattern[0] ? 1 : 0
            }
        }
        return false
    }

    /// Unix time in whole seconds from the system's real-time clock.
    @Sendable public static func unixTime() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}
