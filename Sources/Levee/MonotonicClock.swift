#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CLeveeCycles

/// The production clock: nanoseconds on `CLOCK_MONOTONIC`'s scale (time since boot, never set
/// back by NTP or the administrator).
///
/// Where the kernel itself keeps time with the CPU's counter (Linux with the `tsc` clocksource
/// on x86_64, or `arch_sys_counter` on arm64), the clock reads that counter directly: one
/// `rdtsc` and a multiplication, about 10 ns against 25–30 ns for `clock_gettime` through the
/// vDSO, whose fenced counter read and sequence lock dominated a limiter decision. The counter
/// is calibrated once per process against `CLOCK_MONOTONIC` (10 ms, on first use) and anchored
/// to it, so readings agree with `CLOCK_MONOTONIC` up to the calibration error (at most one part
/// in 10⁴ of the time elapsed since, typically far less: a rate off by that much). Everywhere else, or
/// with the environment variable `LEVEE_CLOCK=monotonic`, it calls `clock_gettime`.
///
/// Every `MonotonicClock` in a process shares the one calibration, so limiters, checks and
/// readers that each make their own `MonotonicClock()` see the same time.
public struct MonotonicClock: LimiterClock {
    /// Creates the clock; it has no state.
    public init() {}

    /// Nanoseconds since boot.
    @inlinable
    public func now() -> UInt64 {
        let calibration = CycleCalibration.process
        guard calibration.enabled else { return Self.systemNanoseconds() }
        return calibration.nanoseconds(atCycles: levee_read_cycles())
    }

    /// Whether readings come from the CPU counter (true) or from `clock_gettime` (false).
    public static var readsCPUCounter: Bool { CycleCalibration.process.enabled }

    /// `CLOCK_MONOTONIC` through `clock_gettime`.
    @inlinable
    public static func systemNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}

/// The conversion from CPU counter ticks to `CLOCK_MONOTONIC` nanoseconds: an anchor pair read
/// together and a 32.32 fixed-point factor (nanoseconds per tick × 2³²). Immutable once made.
@usableFromInline
struct CycleCalibration: Sendable {
    @usableFromInline let enabled: Bool
    @usableFromInline let anchorCycles: UInt64
    @usableFromInline let anchorNanoseconds: UInt64
    @usableFromInline let nanosecondsPerCycleQ32: UInt64

    /// The process's calibration, made on first use (Swift initialises globals once, thread-safely).
    @usableFromInline static let process = CycleCalibration.measure()

    @usableFromInline
    init(enabled: Bool, anchorCycles: UInt64, anchorNanoseconds: UInt64, nanosecondsPerCycleQ32: UInt64) {
        self.enabled = enabled
        self.anchorCycles = anchorCycles
        self.anchorNanoseconds = anchorNanoseconds
        self.nanosecondsPerCycleQ32 = nanosecondsPerCycleQ32
    }

    static let disabled = CycleCalibration(enabled: false, anchorCycles: 0, anchorNanoseconds: 0, nanosecondsPerCycleQ32: 0)

    /// `cycles` converted; a reading from before the anchor (another core's counter a few ticks
    /// behind) gives the anchor itself, never a wrapped-around value.
    @inlinable
    func nanoseconds(atCycles cycles: UInt64) -> UInt64 {
        let elapsed = cycles > anchorCycles ? cycles &- anchorCycles : 0
        let product = elapsed.multipliedFullWidth(by: nanosecondsPerCycleQ32)
        return anchorNanoseconds &+ (product.high << 32 | product.low >> 32)
    }

    /// Calibrates against `CLOCK_MONOTONIC` when the kernel vouches for the counter.
    static func measure() -> CycleCalibration {
        if let choice = getenv("LEVEE_CLOCK"), String(cString: choice) == "monotonic" { return .disabled }
        guard kernelKeepsTimeWithCounter(), levee_read_cycles() != 0 else { return .disabled }
        // Two anchor pairs 10 ms apart, each counter read bracketed by two clock reads no more
        // than 1 µs apart (a pair interrupted by preemption is read again): the factor is then
        // off by at most 1 µs / 10 ms = 10⁻⁴.
        guard let first = anchorPair() else { return .disabled }
        var second = first
        while second.nanoseconds &- first.nanoseconds < 10_000_000 {
            guard let pair = anchorPair() else { return .disabled }
            second = pair
        }
        let cycles = second.cycles &- first.cycles
        let nanoseconds = second.nanoseconds &- first.nanoseconds
        // Counters slower than 10 MHz would make ticks coarser than 100 ns: not worth it.
        guard cycles > nanoseconds / 100 else { return .disabled }
        let factor = (UInt64(nanoseconds) << 32) / cycles
        return CycleCalibration(enabled: true, anchorCycles: second.cycles, anchorNanoseconds: second.nanoseconds,
                                nanosecondsPerCycleQ32: factor)
    }

    private static func anchorPair() -> (cycles: UInt64, nanoseconds: UInt64)? {
        for _ in 0..<1_000 {
            let before = MonotonicClock.systemNanoseconds()
            let cycles = levee_read_cycles()
            let after = MonotonicClock.systemNanoseconds()
            if after &- before <= 1_000 { return (cycles, before &+ (after &- before) / 2) }
        }
        return nil
    }

    /// True when Linux's current clocksource is the counter this clock reads: the kernel has
    /// then checked that it runs at a constant rate and agrees across CPUs.
    private static func kernelKeepsTimeWithCounter() -> Bool {
        #if os(Linux) && (arch(x86_64) || arch(arm64))
        guard let file = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r") else { return false }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return false }
        let name = String(decoding: buffer.prefix { $0 != 0 && $0 != 10 && $0 != 32 }.map { UInt8(bitPattern: $0) },
                          as: UTF8.self)
        #if arch(x86_64)
        return name == "tsc"
        #else
        return name == "arch_sys_counter"
        #endif
        #else
        return false
        #endif
    }
}
