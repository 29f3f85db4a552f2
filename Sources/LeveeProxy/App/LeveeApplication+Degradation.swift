import NIOCore

/// The degradation tier's admin endpoints and `/status` section:
///
/// - `GET /admin/tier`: tier, pin, signals, last move and its reason, shed counts;
/// - `POST /admin/tier?pin=under-attack`: force a tier until unpinned (token required);
/// - `POST /admin/tier?unpin`: return control to the signals (token required).
extension LeveeApplication {
    func registerDegradationEndpoints() {
        addStatusSection("degradation") { [weak self] in
            guard let self else { return DegradationStatus.Off() }
            return self.degradation.status()
        }
        adminRouter.add(.GET, "/admin/tier") { [weak self] _ in
            guard let self else { return .error(.serviceUnavailable, "shutting down") }
            return .json(self.degradation.status())
        }
        adminRouter.add(.POST, "/admin/tier", requiresToken: true) { [weak self] request in
            guard let self else { return .error(.serviceUnavailable, "shutting down") }
            let names = DegradationTier.allCases.map(\.rawValue).joined(separator: ", ")
            if let name = request.query["pin"] {
                guard let tier = DegradationTier(rawValue: name.lowercased()) else {
                    return .error(.badRequest, "unknown tier \"\(name)\" (one of \(names))")
                }
                guard self.configuration.degradation.enabled else {
                    return .error(.conflict, "degradation is off: add a [degradation] section to the configuration")
                }
                self.degradation.pin(tier)
                return .json(self.degradation.status())
            }
            if request.query["unpin"] != nil {
                self.degradation.unpin()
                return .json(self.degradation.status())
            }
            return .error(.badRequest, "use ?pin=TIER (one of \(names)) or ?unpin")
        }
    }
}

extension DegradationStatus {
    /// What `/status` shows while the application is going away.
    struct Off: Encodable, Sendable { var enabled = false }
}
