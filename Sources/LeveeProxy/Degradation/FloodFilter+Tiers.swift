import Levee
import NIOCore

extension FloodFilter {
    /// One tier's policy, compiled once per filter for the hot path: the admitted classes as a
    /// bit mask, the rule quotas with the tier's tightening applied, and prebuilt 503 answers.
    struct CompiledTier: Sendable {
        let admittedMask: UInt8
        let criticalRoutes: Set<String>
        let respond: TierPolicy.ShedResponse
        /// Per rule, in rule order: the quota in force in this tier (nil for access rules).
        let quotas: [Quota?]
        /// Per rule: the `RateLimit-Policy` of the quota in force, so that clients pace
        /// themselves by the tightened quota rather than the configured one.
        let policies: [RateLimitHeaders.Policy?]
        let unavailableJSON: LocalResponse
        let unavailableHTML: LocalResponse

        init(tier: DegradationTier, policy: TierPolicy, rules: [FilterRule]) {
            var mask: UInt8 = 0
            for c in policy.admitted where c != .banned { mask |= 1 << UInt8(c.rank) }
            admittedMask = mask
            criticalRoutes = Set(policy.criticalRoutes)
            respond = policy.respond
            quotas = rules.map { rule in
                guard let quota = rule.quota else { return nil }
                let applies = policy.tightenRules?.contains(rule.name) ?? true
                return applies ? Self.tightened(quota, by: policy.tighten) : quota
            }
            policies = zip(rules, quotas).map { rule, quota in quota.map { RateLimitHeaders.Policy(name: rule.name, quota: $0) } }
            let detail = "The service is shedding load (degradation tier \(tier.rawValue)); retry later."
            unavailableJSON = LocalResponse(RateLimitResponse.serviceUnavailable(retryAfter: policy.retryAfter, accept: nil, detail: detail))
            unavailableHTML = LocalResponse(RateLimitResponse.serviceUnavailable(retryAfter: policy.retryAfter, accept: "text/html", detail: detail))
        }

        func admits(_ clientClass: ClientClass) -> Bool { admittedMask & (1 << UInt8(clientClass.rank)) != 0 }

        /// `quota` with its rate and burst multiplied by `factor` (in (0, 1]). The rate shrinks
        /// by stretching the period, so that "1/s" at 0.5 becomes "1 per 2 s", not zero.
        static func tightened(_ quota: Quota, by factor: Double) -> Quota {
            guard factor < 1, factor > 0 else { return quota }
            let periodNanoseconds = Double(TierController.nanoseconds(quota.period)) / factor
            let burst = max(1, Int((Double(quota.burst) * factor).rounded(.down)))
            guard periodNanoseconds < 9e18,
                  let tight = try? Quota.validated(rate: quota.rate, period: .nanoseconds(Int64(periodNanoseconds)), burst: burst)
            else { return quota }
            return tight
        }
    }

    /// A request granted an upstream slot after queueing for it: a flood's requests admitted
    /// before the tier rose would otherwise hold the backend's slots for a while after it rose.
    /// Shed with the tier's 503 (a challenge or a closed connection make no sense this late).
    public func shedAfterQueueing(
        clientClass: ClientClass, routeName: String, isCriticalRoute: Bool, accept: String?
    ) -> LocalResponse? {
        guard let tiers else { return nil }
        let tier = tierRules[tiers.currentLevel]
        if tier.admits(clientClass) || isCriticalRoute || tier.criticalRoutes.contains(routeName) { return nil }
        tiers.recordShed(clientClass)
        return Self.mentionsHTML(accept) && AcceptPreference.prefersHTML(accept) ? tier.unavailableHTML : tier.unavailableJSON
    }

    /// The tier's answer when it sheds this request; nil when the class is admitted or the route
    /// is critical. Banned clients never get here (they are refused before).
    func shedByTier(
        _ level: Int, clientClass: ClientClass, facts: RequestFacts, accept: String?, request: RequestContext
    ) -> FilterVerdict? {
        let tier = tierRules[level]
        if tier.admits(clientClass) || request.isCriticalRoute { return nil }
        if !tier.criticalRoutes.isEmpty, tier.criticalRoutes.contains(request.routeName) { return nil }
        tiers?.recordShed(clientClass)
        switch tier.respond {
        case .close:
            return .close
        case .challenge:
            if AcceptPreference.explicitlyAcceptsHTML(accept), let address = facts.address {
                return .respond(challengePage(for: address, returnTo: request.head.uri))
            }
        case .serviceUnavailable:
            break
        }
        return .respond(Self.mentionsHTML(accept) && AcceptPreference.prefersHTML(accept) ? tier.unavailableHTML : tier.unavailableJSON)
    }
}
