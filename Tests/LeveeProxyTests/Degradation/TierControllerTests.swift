import LeveeTestSupport
import Levee
import Testing

@testable import LeveeProxy

/// The controller driven by a manual clock and scripted signals.
@Suite("Tier controller")
struct TierControllerTests {
    static let tick: UInt64 = 250_000_000
    static let second: UInt64 = 1_000_000_000

    /// Latency-average thresholds 100 ms / 300 ms / 1 s, hold 1 s, hysteresis 0.2 (calm below 80 %).
    static func configuration(hold: Duration = .seconds(1)) -> DegradationConfiguration {
        DegradationConfiguration(
            enabled: true, tick: .milliseconds(250), hold: hold, hysteresis: 0.2, capacityRPS: 1000,
            thresholds: [
                .elevated: TierThresholds(load: 0.8, latencyAverage: 0.1, errorRate: 0.05, inFlight: 100, loopLag: 0.05),
                .underAttack: TierThresholds(load: 1.0, latencyAverage: 0.3, errorRate: 0.2, inFlight: 400, loopLag: 0.2),
                .survival: TierThresholds(load: 2.0, latencyAverage: 1.0, errorRate: 0.5, inFlight: 1000, loopLag: 0.5),
            ])
    }

    static func latency(_ seconds: Double) -> DegradationSignals { DegradationSignals(latencyAverage: seconds) }

    /// Drives a controller tick by tick on a manual clock, recording every move.
    struct Driver {
        var controller = TierController(configuration: TierControllerTests.configuration())
        let clock = ManualClock()
        var moves: [TierTransition] = []

        mutating func run(_ signals: DegradationSignals, ticks: Int = 1) {
            for _ in 0..<ticks {
                clock.advance(nanoseconds: TierControllerTests.tick)
                if let move = controller.tick(now: clock.now(), signals: signals) { moves.append(move) }
            }
        }

        mutating func run(for nanoseconds: UInt64, _ signals: DegradationSignals) {
            run(signals, ticks: Int(nanoseconds / TierControllerTests.tick))
        }
    }

    @Test func calmSignalsStayNormal() {
        var driver = Driver()
        driver.run(Self.latency(0.05), ticks: 100)
        #expect(driver.controller.tier == .normal)
        #expect(driver.moves.isEmpty)
        #expect(driver.controller.lastMove == nil)
    }

    @Test func oneTickOverAThresholdMovesUpAndRecordsTheReason() throws {
        var driver = Driver()
        driver.run(Self.latency(0.05), ticks: 4)
        driver.run(Self.latency(0.12))
        #expect(driver.controller.tier == .elevated)
        let move = try #require(driver.moves.last)
        #expect(move.from == .normal && move.to == .elevated)
        #expect(move.reason.kind == .signal)
        #expect(move.reason.signal == .latencyAverage)
        #expect(move.reason.value == 0.12)
        #expect(move.reason.threshold == 0.1)
        #expect(move.reason.description == "latency_avg 120ms ≥ 100ms")
    }

    @Test func movesStraightToTheHighestTierCrossed() {
        var driver = Driver()
        driver.run(Self.latency(0.5))
        #expect(driver.controller.tier == .underAttack)
        var other = Driver()
        other.run(Self.latency(1.5))
        #expect(other.controller.tier == .survival)
        #expect(other.moves.count == 1)
        #expect(other.moves.first?.from == .normal)
        // From a tier already reached, a higher signal moves again at once.
        driver.run(Self.latency(1.2))
        #expect(driver.controller.tier == .survival)
        #expect(driver.moves.map(\.to) == [.underAttack, .survival])
    }

    @Test("every signal can move the tier up", arguments: [
        DegradationSignals(load: 0.85), DegradationSignals(errorRate: 0.06), DegradationSignals(inFlight: 150),
        DegradationSignals(loopLag: 0.06), DegradationSignals(latencyAverage: 0.11),
    ])
    func everySignalMovesUp(signals: DegradationSignals) {
        var driver = Driver()
        driver.run(signals)
        #expect(driver.controller.tier == .elevated)
    }

    @Test func p99ThresholdIsASignalToo() {
        var configuration = Self.configuration()
        configuration.thresholds[.elevated]?.latencyP99 = 0.5
        var controller = TierController(configuration: configuration)
        #expect(controller.tick(now: 1, signals: DegradationSignals(latencyP99: 0.4)) == nil)
        let move = controller.tick(now: 2, signals: DegradationSignals(latencyP99: 0.6))
        #expect(move?.to == .elevated)
        #expect(move?.reason.signal == .latencyP99)
    }

    @Test func unmeasuredLoadIsIgnored() {
        // Without a capacity there is no load signal: a nil value never crosses.
        var driver = Driver()
        driver.run(DegradationSignals(load: nil, latencyAverage: 0.01), ticks: 10)
        #expect(driver.controller.tier == .normal)
    }

    @Test func leavesOnlyAfterTheHoldTime() throws {
        var driver = Driver()
        driver.run(Self.latency(0.2))
        #expect(driver.controller.tier == .elevated)
        // Calm (below 80 ms) for just under the hold: stays.
        driver.run(Self.latency(0.01), ticks: 4)  // calm since the first of these ticks: 0.75 s
        #expect(driver.controller.tier == .elevated)
        driver.run(Self.latency(0.01))  // 1 s of calm
        #expect(driver.controller.tier == .normal)
        let move = try #require(driver.moves.last)
        #expect(move.from == .elevated && move.to == .normal)
        #expect(move.reason.kind == .calm)
    }

    @Test func hysteresisKeepsTheTierWhileASignalIsJustBelowTheThreshold() {
        var driver = Driver()
        driver.run(Self.latency(0.15))
        // 90 ms: under the 100 ms threshold, but over 80 ms (threshold minus 20 %).
        driver.run(for: 30 * Self.second, Self.latency(0.09))
        #expect(driver.controller.tier == .elevated)
        #expect(driver.moves.count == 1)
        driver.run(for: 2 * Self.second, Self.latency(0.07))
        #expect(driver.controller.tier == .normal)
    }

    @Test func stepsDownOneTierPerHold() {
        var driver = Driver()
        driver.run(Self.latency(2))
        #expect(driver.controller.tier == .survival)
        driver.run(for: 5 * Self.second, Self.latency(0))
        #expect(driver.moves.map(\.to) == [.survival, .underAttack, .elevated, .normal])
        // Each step down waited a full hold after the one before.
        let downs = driver.moves.dropFirst()
        for (earlier, later) in zip(downs, downs.dropFirst()) {
            #expect(later.at - earlier.at >= Self.second)
        }
    }

    @Test func stepsDownToTheTierTheSignalsStillJustify() {
        var driver = Driver()
        driver.run(Self.latency(2))
        // 400 ms: calm for survival (< 800 ms) but still over under-attack's 300 ms.
        driver.run(for: 10 * Self.second, Self.latency(0.4))
        #expect(driver.controller.tier == .underAttack)
        #expect(driver.moves.map(\.to) == [.survival, .underAttack])
    }

    @Test func aSpikeDuringTheHoldRestartsIt() {
        var driver = Driver()
        driver.run(Self.latency(0.2))
        driver.run(Self.latency(0.01), ticks: 4)
        driver.run(Self.latency(0.09))  // not calm (≥ 80 ms), not over the threshold
        driver.run(Self.latency(0.01), ticks: 4)
        #expect(driver.controller.tier == .elevated)
        driver.run(Self.latency(0.01), ticks: 1)
        #expect(driver.controller.tier == .normal)
    }

    @Test func aNoisySignalAroundAThresholdMovesUpOnceAndNeverFlaps() {
        var driver = Driver()
        // A deterministic noisy signal: ±10 % around the 100 ms threshold, for 5 minutes of ticks.
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<1200 {
            let noise = (Double(generator.next() % 2001) / 1000 - 1) * 0.01
            driver.run(Self.latency(0.1 + noise))
        }
        #expect(driver.moves.count == 1)
        #expect(driver.moves.first?.to == .elevated)
        #expect(driver.controller.tier == .elevated)
    }

    @Test func aSignalAlternatingAcrossTheThresholdNeverMovesDown() {
        var driver = Driver()
        for i in 0..<400 { driver.run(Self.latency(i % 2 == 0 ? 0.105 : 0.095)) }
        #expect(driver.moves.map(\.to) == [.elevated])
    }

    @Test func aPinOverridesTheSignals() throws {
        var driver = Driver()
        let move = driver.controller.pin(.underAttack, now: driver.clock.now())
        let pinned = try #require(move)
        #expect(pinned.from == .normal && pinned.to == .underAttack)
        #expect(pinned.reason.kind == .pinned)
        #expect(driver.controller.tier == .underAttack)
        #expect(driver.controller.pinned == .underAttack)
        // Calm or stormy, the pin holds.
        driver.run(for: 10 * Self.second, Self.latency(0))
        driver.run(Self.latency(5))
        #expect(driver.controller.tier == .underAttack)
        #expect(driver.moves.isEmpty)
        // Pinning the same tier again is not a move.
        let again = driver.controller.pin(.underAttack, now: driver.clock.now())
        #expect(again == nil)
        // Signals are still recorded for /status.
        #expect(driver.controller.lastSignals.latencyAverage == 5)
    }

    @Test func afterUnpinTheSignalsTakeOverFromThePinnedTier() {
        var driver = Driver()
        driver.controller.pin(.survival, now: driver.clock.now())
        driver.run(Self.latency(0), ticks: 3)
        let first = driver.controller.unpin(now: driver.clock.now())
        let second = driver.controller.unpin(now: driver.clock.now())
        #expect(first)
        #expect(!second)
        #expect(driver.controller.pinned == nil)
        #expect(driver.controller.tier == .survival)
        #expect(driver.controller.lastMove?.reason.kind == .unpinned)
        driver.run(for: 4 * Self.second + Self.tick, Self.latency(0))
        #expect(driver.controller.tier == .normal)
        #expect(driver.moves.map(\.to) == [.underAttack, .elevated, .normal])
    }

    @Test func pinningNormalDuringAnAttackHoldsUntilUnpinned() {
        var driver = Driver()
        driver.run(Self.latency(2))
        #expect(driver.controller.tier == .survival)
        driver.controller.pin(.normal, now: driver.clock.now())
        driver.run(Self.latency(2), ticks: 10)
        #expect(driver.controller.tier == .normal)
        driver.controller.unpin(now: driver.clock.now())
        // The controller resumes from normal: the next stormy tick moves it straight up again.
        driver.run(Self.latency(2))
        #expect(driver.controller.tier == .survival)
    }

    @Test func aTierWithoutThresholdsIsOnlyReachedByAPin() {
        var configuration = Self.configuration()
        configuration.thresholds[.survival] = TierThresholds()
        var controller = TierController(configuration: configuration)
        _ = controller.tick(now: 1, signals: Self.latency(100))
        #expect(controller.tier == .underAttack)
    }
}
