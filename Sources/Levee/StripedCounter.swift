import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A counter that many threads increment without contending: one atomic per stripe, each on
/// its own 128-byte block (two cache lines, against adjacent-line prefetch), summed on read.
///
/// Give each event loop or worker its own stripe (`add(_:stripe:)` with its index) for zero
/// sharing; `add(_:)` picks a stripe from the calling thread's identity instead.
public final class StripedCounter: @unchecked Sendable {  // all mutable state is the Atomic stripes behind `stripes`, owned by this object
    @usableFromInline let stripes: UnsafeMutablePointer<Atomic<Int>>  // `stripeCount` blocks of 128 bytes, one Atomic at the start of each; freed in deinit
    @usableFromInline static let stride = 16  // Atomic<Int> words per 128-byte block
    @usableFromInline let mask: Int

    /// Number of stripes (a power of two).
    public let stripeCount: Int

    /// Creates a counter at zero with `stripes` stripes (rounded up to a power of two); by
    /// default twice the number of online CPUs.
    public init(stripes requested: Int? = nil) {
        var count = 1
        let wanted = max(requested ?? 2 * Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
        while count < wanted { count <<= 1 }
        stripeCount = count
        mask = count - 1
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 128, alignment: 128)  // padded stripes need aligned raw memory
        stripes = raw.bindMemory(to: Atomic<Int>.self, capacity: count * Self.stride)
        for index in 0..<count * Self.stride {
            (stripes + index).initialize(to: Atomic(0))
        }
    }

    deinit {
        stripes.deinitialize(count: stripeCount * Self.stride)
        UnsafeMutableRawPointer(stripes).deallocate()  // stripes are one cache-line-aligned allocation owned by this instance
    }

    /// Adds `amount` on stripe `stripe` (taken modulo the stripe count).
    @inlinable
    public func add(_ amount: Int = 1, stripe: Int) {
        stripes[(stripe & mask) &* Self.stride].wrappingAdd(amount, ordering: .relaxed)
    }

    /// Adds `amount` on the calling thread's stripe.
    @inlinable
    public func add(_ amount: Int = 1) {
        add(amount, stripe: StripedCounter.currentThreadStripe)
    }

    /// The sum of all stripes (each read is atomic; the sum is a snapshot while others add).
    public var value: Int {
        var sum = 0
        for stripe in 0..<stripeCount {
            sum &+= stripes[stripe * Self.stride].load(ordering: .relaxed)
        }
        return sum
    }

    /// A stable per-thread number for picking stripes: a hash of the thread's identity.
    @inlinable
    public static var currentThreadStripe: Int {
        #if canImport(Darwin)
        let identity = UInt64(UInt(bitPattern: pthread_self()))
        #else
        let identity = UInt64(pthread_self())
        #endif
        return Int(truncatingIfNeeded: (identity &* 0x9E37_79B9_7F4A_7C15) >> 40)
    }
}
