import CLeveeCycles

/// Exponential spinning between retries of a failed compare-and-swap on a hot bucket.
///
/// Two cores admitting requests on one key fight over one cache line; retrying at once makes
/// the line bounce on every attempt. Waiting 1, 2, 4 … 64 spin hints after each loss lets the
/// winner finish its next decisions with the line still local (twice the throughput measured on
/// one key with two threads). An uncontended decision never fails its first swap and never waits.
@usableFromInline
struct ContentionBackoff {
    @usableFromInline var spins: UInt32 = 1

    @inlinable init() {}

    @inlinable
    mutating func pause() {
        for _ in 0..<spins { levee_cpu_relax() }
        if spins < 64 { spins &<<= 1 }
    }
}
