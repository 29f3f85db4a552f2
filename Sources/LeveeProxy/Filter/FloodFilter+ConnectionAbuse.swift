import NIOCore

extension FloodFilter {
    /// An abusive connection (HTTP/2 rapid reset …) counts as an offence of its socket address:
    /// the client becomes `suspicious`, and once out of strikes it is banned (escalating), as
    /// for repeatedly exceeding a rule. Trusted-network clients are not charged.
    public func connectionAbused(socketAddress: SocketAddress?, reason: String) {
        guard let socketAddress, let address = ClientAddress(socketAddress) else { return }
        if configuration.classes.trustedNetworks.contains(where: { $0.contains(address) }) { return }
        let now = clock.now()
        let outOfStrikes = offenses.recordOffense(RuleKey.addressKey(address), at: now)
        if outOfStrikes, configuration.bans.enabled, bans.activeBan(for: address, now: now) == nil {
            _ = bans.escalate(address, now: now, reason: reason)
        }
    }
}
