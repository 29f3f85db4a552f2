import NIOCore
import Synchronization

/// Admission of client connections: a global cap and a per-address cap, and the set of open
/// channels so that shutdown can close what is left after the grace period. Touched once per
/// accept and once per close (not per request), under one lock (the
/// standard `Mutex`: accept rates are far below where its contention cost matters).
final class ConnectionRegistry: Sendable {
    private struct State {
        var total = 0
        var perAddress: [String: Int] = [:]
        var channels: [ObjectIdentifier: any Channel] = [:]
    }

    private let state = Mutex(State())

    /// Admits `channel` if both caps allow it; the caller must call `release` when it closes.
    func admit(_ channel: any Channel, limits: LimitsConfiguration) -> Bool {
        let key = channel.remoteAddress?.ipAddress ?? ""
        return state.withLock { state in
            guard state.total < limits.maxConnections else { return false }
            let count = state.perAddress[key, default: 0]
            guard count < limits.maxConnectionsPerAddress else { return false }
            state.total += 1
            state.perAddress[key] = count + 1
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func release(_ channel: any Channel, address: SocketAddress?) {
        let key = address?.ipAddress ?? ""
        state.withLock { state in
            guard state.channels.removeValue(forKey: ObjectIdentifier(channel)) != nil else { return }
            state.total -= 1
            let count = (state.perAddress[key] ?? 1) - 1
            state.perAddress[key] = count > 0 ? count : nil
        }
    }

    var openCount: Int { state.withLock { $0.total } }

    /// Channels still open (for the forced close at the end of the grace period).
    var openChannels: [any Channel] { state.withLock { Array($0.channels.values) } }
}
