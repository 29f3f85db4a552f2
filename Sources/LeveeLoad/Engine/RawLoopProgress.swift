import Synchronization

/// Counters of a ``RawConnectionLoop`` that the progress line reads from another thread
/// (each is written by one loop thread only, so the atomics are uncontended).
final class RawLoopProgress: Sendable {
    let sent = Atomic<Int>(0)
    let completed = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
}
