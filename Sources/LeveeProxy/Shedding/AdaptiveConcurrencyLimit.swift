#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A gradient concurrency limit toward one upstream pool, after Netflix concurrency-limits'
/// `Gradient2Limit` (and Envoy's adaptive concurrency filter): how many requests may be in flight
/// at once, found from the round-trip times the upstream answers with.
///
/// The limit compares the short-term RTT (the mean of the last window of samples) with a
/// long-term baseline (an exponential average over `longWindowSamples` samples):
///
///     gradient = clamp(tolerance × long / short, 0.5, 1)
///     limit    = limit × gradient + √limit          (the queue allowance lets it probe upward)
///     limit    = limit × (1 − smoothing) + that × smoothing,  clamped to [minLimit, maxLimit]
///
/// so the limit falls while the upstream slows down under load (queues build up inside it) and
/// grows again once the RTT is back near the baseline. A window with a dropped request (a
/// response timeout or failure) counts as gradient 0.5. While fewer than half the limit are in
/// flight the upstream is not what limits throughput, so the limit is left alone.
///
/// A value type free of I/O: time comes in as `now` (nanoseconds of any monotonic clock), so a
/// test drives it with a manual clock.
public struct AdaptiveConcurrencyLimit: Sendable, Equatable {
    /// How the limit adapts.
    public struct Settings: Sendable, Equatable {
        /// The limit never goes below this.
        public var minLimit: Int
        /// The limit never goes above this.
        public var maxLimit: Int
        /// The limit before the first samples.
        public var initialLimit: Int
        /// False: the limit stays at `maxLimit` (a fixed concurrency cap with the same queue).
        public var adaptive: Bool
        /// How much longer than the baseline the short-term RTT may be before the limit falls
        /// (1.5: +50%, as Gradient2).
        public var tolerance: Double
        /// Weight of a newly computed limit against the current one.
        public var smoothing: Double
        /// Samples the long-term RTT averages over.
        public var longWindowSamples: Int
        /// A window lasts at least this long (nanoseconds) ...
        public var windowNanoseconds: UInt64
        /// ... and holds at least this many samples (or a drop) before the limit is updated.
        public var minWindowSamples: Int

        public init(
            minLimit: Int = 4, maxLimit: Int = 1000, initialLimit: Int = 20, adaptive: Bool = true,
            tolerance: Double = 1.5, smoothing: Double = 0.2, longWindowSamples: Int = 600,
            windowNanoseconds: UInt64 = 100_000_000, minWindowSamples: Int = 10
        ) {
            self.minLimit = minLimit
            self.maxLimit = maxLimit
            self.initialLimit = initialLimit
            self.adaptive = adaptive
            self.tolerance = tolerance
            self.smoothing = smoothing
            self.longWindowSamples = longWindowSamples
            self.windowNanoseconds = windowNanoseconds
            self.minWindowSamples = minWindowSamples
        }
    }

    public let settings: Settings
    /// Requests that may be in flight now.
    public private(set) var limit: Int
    /// The limit before rounding (the smoothing works on fractions).
    private var estimate: Double
    /// Long-term RTT baseline in nanoseconds (0 until the first window).
    public private(set) var longRTT: Double = 0
    /// Mean RTT of the last completed window in nanoseconds (0 until the first window).
    public private(set) var shortRTT: Double = 0
    /// The current window.
    private var windowStart: UInt64?
    private var windowSum: Double = 0
    private var windowCount = 0
    private var windowMaxInFlight = 0
    private var windowDropped = false

    public init(settings: Settings) {
        self.settings = settings
        let start = settings.adaptive ? settings.initialLimit : settings.maxLimit
        self.limit = min(max(start, settings.minLimit), settings.maxLimit)
        self.estimate = Double(limit)
    }

    /// Records one finished request and returns the limit (changed at most once per window).
    ///
    /// - Parameters:
    ///   - rtt: nanoseconds from sending the request to the response head (ignored when `dropped`).
    ///   - inFlight: requests in flight when it finished, this one included.
    ///   - dropped: the request timed out or failed upstream (a sign of overload).
    ///   - now: the clock's reading in nanoseconds.
    @discardableResult
    public mutating func sample(rtt: UInt64, inFlight: Int, dropped: Bool, at now: UInt64) -> Int {
        guard settings.adaptive else { return limit }
        let start = windowStart ?? now
        windowStart = start
        if dropped {
            windowDropped = true
        } else {
            windowSum += Double(rtt)
            windowCount += 1
        }
        windowMaxInFlight = max(windowMaxInFlight, inFlight)
        let elapsed = now >= start ? now - start : 0
        guard elapsed >= settings.windowNanoseconds, windowCount >= settings.minWindowSamples || windowDropped else {
            return limit
        }
        closeWindow()
        return limit
    }

    private mutating func closeWindow() {
        let count = windowCount
        let dropped = windowDropped
        let maxInFlight = windowMaxInFlight
        let mean = count > 0 ? windowSum / Double(count) : 0
        windowStart = nil
        windowSum = 0
        windowCount = 0
        windowMaxInFlight = 0
        windowDropped = false

        if count > 0 {
            shortRTT = max(mean, 1)
            if longRTT == 0 {
                longRTT = shortRTT
            } else {
                // An exponential average with a per-sample weight of 2 / (N + 1), applied `count` times.
                let keep = pow(1 - 2 / (Double(settings.longWindowSamples) + 1), Double(count))
                longRTT = longRTT * keep + shortRTT * (1 - keep)
            }
            // The upstream got much faster (a recovery, or load moved away): let the baseline follow.
            if longRTT / shortRTT > 2 { longRTT *= 0.95 }
        }
        // Not enough load to learn anything from: the limit is not what holds requests back.
        if !dropped && maxInFlight < Int((estimate / 2).rounded(.up)) { return }
        guard dropped || count > 0 else { return }

        let gradient = dropped ? 0.5 : min(1, max(0.5, settings.tolerance * longRTT / shortRTT))
        let allowance = max(1, estimate.squareRoot())
        let next = estimate * gradient + allowance
        let smoothed = estimate * (1 - settings.smoothing) + next * settings.smoothing
        estimate = min(Double(settings.maxLimit), max(Double(settings.minLimit), smoothed))
        limit = min(settings.maxLimit, max(settings.minLimit, Int(estimate.rounded())))
    }
}
