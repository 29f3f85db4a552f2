import LeveeRedis

extension FloodFilter {
    /// The filter that replaces `previous` on reload (or the first one when nil): keeps its bans,
    /// and its Redis backend and leases when `[fleet]` is unchanged; a backend no longer used is
    /// retired (closed after a grace period, once `previous` has stopped deciding).
    public convenience init(
        reloading configuration: FilterConfiguration, previous: FloodFilter?,
        degradation: DegradationConfiguration = DegradationConfiguration(), tiers: TierGate? = nil
    ) {
        self.init(configuration: configuration, bans: previous?.bans, degradation: degradation, tiers: tiers,
                  fleet: previous?.fleet)
        if let old = previous?.fleet, old !== fleet { old.retire() }
    }
}
