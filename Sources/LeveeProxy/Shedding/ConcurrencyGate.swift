import Levee
import Synchronization

/// One upstream pool's adaptive concurrency limit with its class-ordered queue, shared by every
/// event loop. All state is one `ConcurrencyGateState` behind one lock (two short critical
/// sections per request: admit and finish); waiters are told what became of them outside it.
///
/// A request calls `admit`; if admitted it calls `finish` exactly once when it stops using the
/// upstream. A queued request is later either resumed (`granted`: it now holds a slot and must
/// `finish`; `evicted`: shed) or withdraws itself (`withdraw`: its timeout fired or its client
/// left); when `withdraw` returns false the resumption is already on its way.
final class ConcurrencyGate<Waiter: ConcurrencyWaiter>: Sendable {
    /// What `admit` decided.
    enum Admission: Equatable {
        case admitted
        /// Waiting; the ticket names it for `withdraw`.
        case queued(ticket: UInt64)
        /// Refused on arrival (reason `concurrency`): answer 503.
        case shed
    }

    let pool: String
    let configuration: ConcurrencyConfiguration
    private let state: Mutex<ConcurrencyGateState<Waiter>>
    private let clock: any LimiterClock
    private let metrics: ConcurrencyMetrics

    init(pool: String, configuration: ConcurrencyConfiguration, clock: any LimiterClock = MonotonicClock()) {
        self.pool = pool
        self.configuration = configuration
        self.clock = clock
        self.state = Mutex(ConcurrencyGateState(
            limit: configuration.limitSettings, queueCapacity: configuration.queue,
            queueTimeout: UInt64(max(0, configuration.queueTimeout.nanoseconds))))
        self.metrics = ConcurrencyMetrics(pool: pool)
        state.withLock { publish($0) }
    }

    /// Asks for a slot for a request of `clientClass`; `waiter` is built only if it must wait.
    func admit(clientClass: ClientClass, waiter: () -> Waiter) -> Admission {
        let now = clock.now()
        let arrival = state.withLock { state in
            let arrival = state.arrive(clientClass: clientClass, now: now, waiter: waiter)
            publish(state)
            return arrival
        }
        switch arrival {
        case .admitted:
            return .admitted
        case .queued(let ticket, let evicted):
            if let evicted {
                metrics.countShed(evicted.clientClass, .concurrency)
                evicted.element.resume(.evicted)
            }
            return .queued(ticket: ticket)
        case .shed:
            metrics.countShed(clientClass, .concurrency)
            return .shed
        }
    }

    /// An admitted (or granted) request stopped using the upstream. `rtt`: nanoseconds from
    /// sending it to the response head, nil if none was measured; `dropped`: it timed out or
    /// failed upstream.
    func finish(rtt: UInt64?, dropped: Bool) {
        let now = clock.now()
        let granted = state.withLock { state in
            let granted = state.finish(rtt: rtt, dropped: dropped, now: now)
            publish(state)
            return granted
        }
        for waiter in granted { waiter.resume(.granted) }
    }

    /// Takes a waiter out of the queue (timed out, or its client left). False: it was granted
    /// or evicted meanwhile, and its `resume` is on its way.
    func withdraw(ticket: UInt64, clientClass: ClientClass, timedOut: Bool) -> Bool {
        let removed = state.withLock { state in
            let removed = state.withdraw(ticket: ticket, clientClass: clientClass, timedOut: timedOut)
            if removed { publish(state) }
            return removed
        }
        if removed && timedOut { metrics.countShed(clientClass, .queueTimeout) }
        return removed
    }

    /// The current limit, requests in flight and waiting.
    var reading: (limit: Int, inFlight: Int, queueDepth: Int) {
        state.withLock { ($0.limit.limit, $0.inFlight, $0.queue.count) }
    }

    /// Sets the gauges, under the lock so that they never show an older reading than the last.
    private func publish(_ state: borrowing ConcurrencyGateState<Waiter>) {
        metrics.update(limit: state.limit.limit, queueDepth: state.queue.count, inFlight: state.inFlight)
    }

    /// The `/status` view.
    func status() -> PoolSheddingStatus {
        state.withLock { state in
            var shed: [String: [String: Int]] = [:]
            for clientClass in ClientClass.allCases where clientClass != .banned {
                var byReason: [String: Int] = [:]
                for reason in ConcurrencyShedReason.allCases { byReason[reason.rawValue] = state.shedCount(clientClass, reason) }
                shed[clientClass.rawValue] = byReason
            }
            let settings = state.limit.settings
            return PoolSheddingStatus(
                adaptive: settings.adaptive, limit: state.limit.limit, minLimit: settings.minLimit, maxLimit: settings.maxLimit,
                inFlight: state.inFlight, queueDepth: state.queue.count, queueCapacity: state.queue.capacity,
                shortRTTMilliseconds: state.limit.shortRTT / 1e6, longRTTMilliseconds: state.limit.longRTT / 1e6, shed: shed)
        }
    }
}
