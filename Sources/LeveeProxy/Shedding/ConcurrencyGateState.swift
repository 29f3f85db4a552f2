/// The state of one pool's concurrency gate: the adaptive limit, the requests in flight, the
/// class-ordered queue of those waiting, and what was shed. A value type free of I/O and locks;
/// `ConcurrencyGate` keeps it behind a lock and runs what its events return.
///
/// Invariants: `inFlight` counts admitted requests that have not finished; a waiter is granted a
/// slot (and counted in flight) only when one is free, so the queue is never non-empty while
/// `inFlight < limit` after an event returns.
struct ConcurrencyGateState<Waiter> {
    private(set) var limit: AdaptiveConcurrencyLimit
    private(set) var queue: ClassPriorityQueue<Waiter>
    /// How long a waiter may wait, in nanoseconds.
    let queueTimeout: UInt64
    private(set) var inFlight = 0
    /// Shed requests, `[class rank][reason index]`.
    private(set) var shed: [[Int]]

    /// What happened to an arriving request.
    enum Arrival {
        /// A slot was free: go on (and call `finish` when done).
        case admitted
        /// Waiting under `ticket` (and `evicted`, if any, was pushed out and is shed).
        case queued(ticket: UInt64, evicted: ClassPriorityQueue<Waiter>.Entry?)
        /// Refused: answer 503 (reason `concurrency`).
        case shed
    }

    init(limit: AdaptiveConcurrencyLimit.Settings, queueCapacity: Int, queueTimeout: UInt64) {
        self.limit = AdaptiveConcurrencyLimit(settings: limit)
        self.queue = ClassPriorityQueue(capacity: queueCapacity)
        self.queueTimeout = queueTimeout
        self.shed = ClientClass.allCases.map { _ in ConcurrencyShedReason.allCases.map { _ in 0 } }
    }

    /// A request of `clientClass` wants a slot at `now`; `waiter` is only called to queue it.
    mutating func arrive(clientClass: ClientClass, now: UInt64, waiter: () -> Waiter) -> Arrival {
        if inFlight < limit.limit && queue.isEmpty {
            inFlight += 1
            return .admitted
        }
        switch queue.enqueue(waiter(), clientClass: clientClass, deadline: now &+ queueTimeout) {
        case .queued(let ticket):
            return .queued(ticket: ticket, evicted: nil)
        case .queuedEvicting(let ticket, let evicted):
            countShed(evicted.clientClass, .concurrency)
            return .queued(ticket: ticket, evicted: evicted)
        case .rejected:
            countShed(clientClass, .concurrency)
            return .shed
        }
    }

    /// An admitted request finished. `rtt` (nanoseconds to the response head) is nil when no
    /// answer was measured (a local answer, or the client left); `dropped` marks an upstream
    /// timeout or failure. Returns the waiters that now hold a slot (already counted in flight).
    mutating func finish(rtt: UInt64?, dropped: Bool, now: UInt64) -> [Waiter] {
        if dropped || rtt != nil {
            limit.sample(rtt: rtt ?? 0, inFlight: inFlight, dropped: dropped, at: now)
        }
        inFlight -= 1
        return grant()
    }

    /// Hands free slots to waiters, most trusted first.
    private mutating func grant() -> [Waiter] {
        var granted: [Waiter] = []
        while inFlight < limit.limit, let next = queue.popFirst() {
            inFlight += 1
            granted.append(next.element)
        }
        return granted
    }

    /// Takes the waiter `ticket` out of the queue: its time is up (`timedOut`, counted as shed)
    /// or its client left. False if it is no longer waiting (granted or evicted meanwhile: the
    /// notice is on its way).
    mutating func withdraw(ticket: UInt64, clientClass: ClientClass, timedOut: Bool) -> Bool {
        guard queue.remove(ticket: ticket, clientClass: clientClass) != nil else { return false }
        if timedOut { countShed(clientClass, .queueTimeout) }
        return true
    }

    private mutating func countShed(_ clientClass: ClientClass, _ reason: ConcurrencyShedReason) {
        shed[clientClass.rank][reason.index] += 1
    }

    /// Requests shed of `clientClass` for `reason`.
    func shedCount(_ clientClass: ClientClass, _ reason: ConcurrencyShedReason) -> Int {
        shed[clientClass.rank][reason.index]
    }
}

extension ConcurrencyGateState: Sendable where Waiter: Sendable {}
extension ConcurrencyGateState.Arrival: Sendable where Waiter: Sendable {}
