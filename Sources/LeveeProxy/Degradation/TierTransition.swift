/// One move of the controller: from a tier to another, at a time, for a reason.
public struct TierTransition: Sendable, Equatable {
    public var from: DegradationTier
    public var to: DegradationTier
    /// The controller's clock reading (nanoseconds) when it moved.
    public var at: UInt64
    public var reason: TierMoveReason

    public init(from: DegradationTier, to: DegradationTier, at: UInt64, reason: TierMoveReason) {
        self.from = from
        self.to = to
        self.at = at
        self.reason = reason
    }
}
