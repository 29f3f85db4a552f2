/// Where a client connection is between and within requests, and which deadline applies:
/// the logic of `ConnectionGuardHandler`, free of I/O so that every transition can be tested
/// as a plain value. Events return the `Action` the handler must carry out.
struct ClientDeadlineStateMachine: Equatable {
    enum State: Equatable {
        /// Between requests, no byte of the next one yet: the idle deadline runs.
        case idle
        /// Bytes of a request head have arrived: the header deadline runs (slowloris).
        case readingHead
        /// Head decoded, body coming: the minimum body rate is checked every second.
        case readingBody
        /// Request fully read; the response is being produced.
        case waitingForResponse
    }

    enum Deadline: Equatable { case idle, header }

    enum Action: Equatable {
        case none
        /// (Re)arm the one deadline timer.
        case arm(Deadline)
        /// Cancel the deadline timer.
        case cancelDeadline
        /// Cancel the deadline timer and start the once-a-second body-rate ticks.
        case cancelDeadlineAndStartRateChecks
        /// Stop the body-rate ticks.
        case stopRateChecks
        /// Stop the body-rate ticks and arm the idle deadline.
        case stopRateChecksAndArmIdle
        /// Schedule the next body-rate tick.
        case scheduleRateCheck
        /// Close the connection, after a `408` if `requestTimeout`.
        case close(requestTimeout: Bool)
    }

    private(set) var state = State.idle
    let minBodyBytesPerSecond: Int
    private var bytesThisTick = 0
    private var heldBackThisTick = false
    private var heldBack = false
    private var ticks = 0

    init(minBodyBytesPerSecond: Int) {
        self.minBodyBytesPerSecond = minBodyBytesPerSecond
    }

    /// The connection became active.
    func connected() -> Action { .arm(.idle) }

    mutating func bytesReceived(_ count: Int) -> Action {
        bytesThisTick &+= count
        guard state == .idle, count > 0 else { return .none }
        state = .readingHead
        return .arm(.header)
    }

    mutating func headReceived(hasBody: Bool) -> Action {
        guard hasBody, minBodyBytesPerSecond > 0 else {
            state = hasBody ? .readingBody : .waitingForResponse
            return .cancelDeadline
        }
        state = .readingBody
        bytesThisTick = 0
        heldBackThisTick = heldBack
        ticks = 0
        return .cancelDeadlineAndStartRateChecks
    }

    mutating func bodyFinished() -> Action {
        guard state == .readingBody else { return .none }
        state = .waitingForResponse
        return .stopRateChecks
    }

    /// The response is complete and the connection stays open.
    mutating func responseFinished() -> Action {
        switch state {
        case .waitingForResponse, .readingBody:
            state = .idle
            return .stopRateChecksAndArmIdle
        case .idle, .readingHead:
            // A pipelined request's bytes are already being read: its own deadline runs.
            return .none
        }
    }

    /// The proxy holds client reads back (back-pressure); that time is not the client's fault.
    mutating func readsHeldBack(_ value: Bool) {
        heldBack = value
        if value { heldBackThisTick = true }
    }

    mutating func deadlineExpired(_ deadline: Deadline) -> Action {
        switch (deadline, state) {
        case (.idle, .idle): return .close(requestTimeout: false)
        case (.header, .readingHead): return .close(requestTimeout: true)
        default: return .none  // stale timer
        }
    }

    /// Once a second while a body is read: too slow (after a grace second) closes.
    mutating func rateCheckTick() -> Action {
        guard state == .readingBody else { return .none }
        ticks += 1
        let slow = bytesThisTick < minBodyBytesPerSecond && !heldBackThisTick && !heldBack
        bytesThisTick = 0
        heldBackThisTick = heldBack
        return ticks > 1 && slow ? .close(requestTimeout: false) : .scheduleRateCheck
    }
}
