import Levee
import NIOCore
import Testing

@testable import LeveeProxy

/// The tier policy inside the filter: who is shed, how, and the tightened quotas.
@Suite("Flood filter under degradation tiers")
struct FloodFilterTierTests {
    static let trusted = "10.0.0.1"
    static let known = "10.1.0.1"
    static let unknown = "198.51.100.7"

    static func filter(
        policies: [DegradationTier: TierPolicy] = DegradationConfiguration.defaultPolicies, rules: [FilterRule] = [],
        clock: ManualClock = ManualClock(start: 1_000_000_000), enabled: Bool = true
    ) -> (FloodFilter, TierGate) {
        let gate = TierGate()
        let configuration = FilterConfiguration(
            classes: ClassificationSettings(trustedNetworks: [CIDR("10.0.0.0/24")!], knownNetworks: [CIDR("10.1.0.0/24")!]),
            rules: rules)
        let degradation = DegradationConfiguration(enabled: enabled, policies: policies)
        return (FloodFilter(configuration: configuration, clock: clock, degradation: degradation, tiers: gate), gate)
    }

    @Test func normalShedsNobody() {
        let (filter, gate) = Self.filter()
        #expect(gate.tier == .normal)
        for peer in [Self.trusted, Self.known, Self.unknown] {
            #expect(filter.evaluate(filterRequest(peer: peer)).isForward)
        }
    }

    @Test func eachTierShedsItsClasses() throws {
        let (filter, gate) = Self.filter()
        gate.publish(.underAttack)
        #expect(filter.evaluate(filterRequest(peer: Self.trusted)).isForward)
        #expect(filter.evaluate(filterRequest(peer: Self.known)).isForward)
        let shed = filter.evaluate(filterRequest(peer: Self.unknown, headers: [("Accept", "application/json")]))
        #expect(shed.status == 503)
        #expect(shed.response?.headers.first(name: "Retry-After") == "10")
        #expect(String(buffer: try #require(shed.response?.body)).contains("under-attack"))

        gate.publish(.survival)
        #expect(filter.evaluate(filterRequest(peer: Self.trusted)).isForward)
        #expect(filter.evaluate(filterRequest(peer: Self.known)).status == 503)

        gate.publish(.normal)
        #expect(filter.evaluate(filterRequest(peer: Self.unknown)).isForward)
        let counts = gate.shedCounts()
        #expect(counts[.unknown] == 1 && counts[.known] == 1 && counts[.trusted] == 0)
    }

    @Test func criticalRoutesAreServedToEveryone() {
        var survival = TierPolicy.defaultPolicy(for: .survival)
        survival.criticalRoutes = ["login"]
        var policies = DegradationConfiguration.defaultPolicies
        policies[.survival] = survival
        let (filter, gate) = Self.filter(policies: policies)
        gate.publish(.survival)
        #expect(filter.evaluate(filterRequest(peer: Self.unknown, route: "login")).isForward)
        var flagged = filterRequest(peer: Self.unknown, route: "health")
        flagged.isCriticalRoute = true
        #expect(filter.evaluate(flagged).isForward)
        #expect(filter.evaluate(filterRequest(peer: Self.unknown, route: "site")).status == 503)
    }

    @Test func shedClientsCanBeChallengedOrClosed() throws {
        var policies = DegradationConfiguration.defaultPolicies
        policies[.elevated] = TierPolicy(admitted: [.trusted], respond: .challenge)
        policies[.underAttack] = TierPolicy(admitted: [.trusted], respond: .close)
        let (filter, gate) = Self.filter(policies: policies)
        gate.publish(.elevated)
        let browser = filter.evaluate(filterRequest(peer: Self.unknown, headers: [("Accept", "text/html")]))
        #expect(browser.status == 403)
        #expect(String(buffer: try #require(browser.response?.body)).contains("<html"))
        // A client that does not ask for HTML cannot run the challenge: 503.
        #expect(filter.evaluate(filterRequest(peer: Self.unknown, headers: [("Accept", "application/json")])).status == 503)
        gate.publish(.underAttack)
        guard case .close = filter.evaluate(filterRequest(peer: Self.unknown)) else {
            Issue.record("expected the connection to be closed")
            return
        }
    }

    @Test func tighteningShrinksRateAndBurst() throws {
        let quota = try Quota(parsing: "10/s burst 8")
        let tight = FloodFilter.CompiledTier.tightened(quota, by: 0.5)
        #expect(tight.rate == 10 && tight.period == .seconds(2) && tight.burst == 4)
        let one = FloodFilter.CompiledTier.tightened(try Quota(parsing: "1/s burst 1"), by: 0.25)
        #expect(one.burst == 1 && one.period == .seconds(4))
        #expect(FloodFilter.CompiledTier.tightened(quota, by: 1) == quota)
    }

    @Test func aTightenedTierRefusesEarlier() throws {
        var policies = DegradationConfiguration.defaultPolicies
        policies[.elevated] = TierPolicy(tighten: 0.5)
        let rule = FilterRule(name: "per-ip", quota: try Quota(parsing: "1/min burst 4"))
        let (filter, gate) = Self.filter(policies: policies, rules: [rule])
        gate.publish(.elevated)
        // Burst 4 at half: 2 requests pass, the third is refused by the rule (429, not shed).
        #expect(filter.evaluate(filterRequest(peer: Self.unknown)).isForward)
        #expect(filter.evaluate(filterRequest(peer: Self.unknown)).isForward)
        #expect(filter.evaluate(filterRequest(peer: "198.51.100.8")).isForward)
        let refused = filter.evaluate(filterRequest(peer: Self.unknown))
        #expect(refused.status == 429)
        // The fields announce the quota in force (burst 2 over 4 minutes), not the configured one.
        #expect(refused.response?.headers.first(name: "RateLimit-Policy") == "\"per-ip\";q=2;w=240")
        // Back at normal, another client gets the full burst of 4, and the fields say so.
        gate.publish(.normal)
        for _ in 0..<4 { #expect(filter.evaluate(filterRequest(peer: "198.51.100.9")).isForward) }
        let normal = filter.evaluate(filterRequest(peer: "198.51.100.9"))
        #expect(normal.status == 429)
        #expect(normal.response?.headers.first(name: "RateLimit-Policy") == "\"per-ip\";q=4;w=240")
    }

    @Test func tighteningOnlyTheNamedRules() throws {
        var policies = DegradationConfiguration.defaultPolicies
        policies[.elevated] = TierPolicy(tighten: 0.5, tightenRules: ["other"])
        let rule = FilterRule(name: "per-ip", quota: try Quota(parsing: "1/min burst 4"))
        let (filter, gate) = Self.filter(policies: policies, rules: [rule])
        gate.publish(.elevated)
        for _ in 0..<4 { #expect(filter.evaluate(filterRequest(peer: Self.unknown)).isForward) }
        #expect(filter.evaluate(filterRequest(peer: Self.unknown)).status == 429)
    }

    @Test func aRequestGrantedAfterQueueingIsShedIfTheTierRoseMeanwhile() throws {
        let (filter, gate) = Self.filter()
        func recheck(_ clientClass: ClientClass, critical: Bool = false) -> LocalResponse? {
            filter.shedAfterQueueing(clientClass: clientClass, routeName: "default", isCriticalRoute: critical,
                                     accept: "application/json")
        }
        // Queued at normal and granted at normal: forwarded.
        #expect(recheck(.unknown) == nil)
        gate.publish(.underAttack)
        // Granted after the tier rose: the tier's 503 instead of the upstream.
        let shed = try #require(recheck(.unknown))
        #expect(shed.status == .serviceUnavailable)
        #expect(shed.headers.first(name: "Retry-After") == "10")
        #expect(String(buffer: shed.body).contains("under-attack"))
        // Classes the tier admits, and critical routes, go on.
        #expect(recheck(.trusted) == nil)
        #expect(recheck(.known) == nil)
        #expect(recheck(.unknown, critical: true) == nil)
        #expect(gate.shedCounts()[.unknown] == 1)
    }

    @Test func degradationOffIgnoresTheGate() {
        let (filter, gate) = Self.filter(enabled: false)
        gate.publish(.survival)
        #expect(filter.evaluate(filterRequest(peer: Self.unknown)).isForward)
    }

    @Test func bannedClientsStayRefusedWith403() {
        let (filter, gate) = Self.filter()
        filter.ban(CIDR(Self.unknown)!, duration: .seconds(60), reason: "test")
        gate.publish(.elevated)
        #expect(filter.evaluate(filterRequest(peer: Self.unknown)).status == 403)
        #expect(gate.shedCounts()[.banned] == 0)
    }
}

@Suite("Degradation signals")
struct DegradationSignalTests {
    @Test func histogramQuantileIsWithinItsBucket() {
        var histogram = LatencyHistogram()
        for _ in 0..<98 { histogram.record(nanoseconds: 1_000_000) }  // 1 ms
        histogram.record(nanoseconds: 200_000_000)  // 200 ms
        histogram.record(nanoseconds: 210_000_000)
        #expect(histogram.count == 100)
        let p99 = histogram.quantile(0.99)
        #expect(p99 >= 0.2 && p99 <= 0.2 * 1.5)
        let p50 = histogram.quantile(0.5)
        #expect(p50 >= 0.001 && p50 <= 0.0015)
        #expect(abs(histogram.mean - (0.098 + 0.41) / 100) < 1e-9)
        #expect(LatencyHistogram().quantile(0.99) == 0)
    }

    @Test func bucketsCoverEveryValueInOrder() {
        var previous = 0
        for exponent in 10..<40 {
            let value = UInt64(1) << UInt64(exponent)
            for nanoseconds in [value, value + value / 2] {
                let bucket = LatencyHistogram.bucket(of: nanoseconds)
                #expect(bucket >= previous)
                #expect(nanoseconds < LatencyHistogram.upperEdge(of: bucket) || bucket == LatencyHistogram.bucketCount - 1)
                previous = bucket
            }
        }
    }

    @Test func aggregatorComputesRatesAndDecaysWhenQuiet() {
        var aggregator = SignalAggregator(smoothing: .milliseconds(250), capacityRPS: 100)
        var sample = LoopSignals.Sample()
        sample.requests = 50
        sample.upstreamExchanges = 10
        sample.upstreamErrors = 5
        for _ in 0..<10 { sample.latency.record(nanoseconds: 400_000_000) }
        var signals = DegradationSignals()
        for _ in 0..<20 {
            signals = aggregator.signals(from: sample, elapsedNanoseconds: 250_000_000, inFlight: 7, loopLagNanoseconds: 3_000_000)
        }
        #expect(abs(signals.requestRate - 200) < 1e-6)
        #expect(abs((signals.load ?? 0) - 2) < 1e-6)
        #expect(abs(signals.latencyAverage - 0.4) < 0.01)
        #expect(abs(signals.errorRate - 0.5) < 0.01)
        #expect(signals.latencyP99 >= 0.4 && signals.latencyP99 <= 0.6)
        #expect(signals.inFlight == 7)
        #expect(abs(signals.loopLag - 0.003) < 1e-9)
        for _ in 0..<40 {
            signals = aggregator.signals(from: LoopSignals.Sample(), elapsedNanoseconds: 250_000_000, inFlight: 0, loopLagNanoseconds: 0)
        }
        #expect(signals.requestRate == 0 && signals.latencyP99 == 0)
        #expect(signals.latencyAverage < 0.001 && signals.errorRate < 0.001)
    }

    @Test func collectorReportsAPendingProbeAsLag() {
        let collector = SignalCollector(loops: 2)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(collector.beginProbe(0, at: start))
        #expect(collector.beginProbe(1, at: start))
        #expect(!collector.beginProbe(1, at: start))
        var sample = LoopSignals.Sample()
        sample.requests = 3
        collector.finishProbe(0, sample: sample, ranAt: start + .milliseconds(2))
        let drained = collector.drain(now: start + .milliseconds(300))
        #expect(drained.sample.requests == 3)
        #expect(drained.lagNanoseconds == 300_000_000)  // loop 1 has not run its probe yet
        collector.finishProbe(1, sample: LoopSignals.Sample(), ranAt: start + .milliseconds(310))
        #expect(collector.drain(now: start + .milliseconds(400)).lagNanoseconds == 310_000_000)
        #expect(collector.drain(now: start + .milliseconds(500)).lagNanoseconds == 0)
    }
}
