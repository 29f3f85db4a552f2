import ServiceLifecycle
import Synchronization
import UnixSignals

/// Runs the reload action on every SIGHUP until graceful shutdown.
struct ReloadSignalService: Service {
    let hook: ReloadHook

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            hook.fire()
        }
    }
}

/// The action a SIGHUP runs, set once the application is fully built (the service is created
/// before the application can hand out a reference to itself).
final class ReloadHook: Sendable {
    private let action = Mutex<(@Sendable () -> Void)?>(nil)

    func set(_ action: @escaping @Sendable () -> Void) { self.action.withLock { $0 = action } }

    func fire() { action.withLock { $0 }?() }
}
