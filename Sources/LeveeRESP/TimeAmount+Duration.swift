import NIOCore

extension TimeAmount {
    /// The same span as a `Duration`, in whole nanoseconds.
    init(_ duration: Duration) {
        self = .nanoseconds(RESPBackoff.nanoseconds(duration))
    }
}
