import NIOCore

/// The order-keeping logic of ``HTTPRateLimitHandler``, free of I/O.
///
/// HTTP/1.1 answers requests in the order they arrived. A denied request is answered by the
/// handler, an admitted one by the application behind it; when a client pipelines, a 429 must not
/// overtake the response of an earlier admitted request. The machine keeps the requests whose
/// responses are still owed, in order, and releases a held 429 once every response before it
/// has ended. (Behind NIO's `HTTPServerPipelineHandler` requests arrive one at a time and a 429
/// is always sent at once; the queue matters when the handler runs without it.)
///
/// `Admitted` is what the handler needs to decorate an admitted response (the limiter's outcome);
/// `Denied` is a prepared 429.
struct HTTPRateLimitStateMachine<Admitted, Denied> {
    enum Pending {
        case admitted(Admitted)
        case denied(Denied)
    }

    /// What to do with a request head.
    enum HeadAction {
        /// Pass the head on to the application.
        case forward
        /// Answer with this 429 now.
        case respond(Denied)
        /// Hold the 429: earlier responses are still being written.
        case hold
    }

    /// What to do with a request body part or end.
    enum PartAction {
        case forward
        case discard
    }

    private enum RequestState {
        /// Between requests.
        case idle
        /// Inside an admitted request: its parts go to the application.
        case forwarding
        /// Inside a denied request: its parts are swallowed.
        case discarding
    }

    private var requestState = RequestState.idle
    /// Requests whose responses are owed, oldest first.
    private var pending = CircularBuffer<Pending>(initialCapacity: 4)

    /// Whether responses are owed (for tests).
    var owesResponses: Bool { !pending.isEmpty }

    /// A request head the limiter admitted.
    mutating func admittedHead(_ admitted: Admitted) -> HeadAction {
        requestState = .forwarding
        pending.append(.admitted(admitted))
        return .forward
    }

    /// A request head the limiter denied, with its prepared 429.
    mutating func deniedHead(_ denied: Denied) -> HeadAction {
        requestState = .discarding
        if pending.isEmpty { return .respond(denied) }
        pending.append(.denied(denied))
        return .hold
    }

    /// A body part (`isEnd == false`) or the end of the current request.
    mutating func requestPart(isEnd: Bool) -> PartAction {
        let action: PartAction = requestState == .discarding ? .discard : .forward
        if isEnd { requestState = .idle }
        return action
    }

    /// The application writes the final (non-1xx) head of the oldest owed response: the
    /// admitted request's value, to decorate the head with; nil if nothing admitted is owed.
    func finalResponseHead() -> Admitted? {
        guard case .admitted(let admitted)? = pending.first else { return nil }
        return admitted
    }

    /// The application finished the oldest owed response.
    mutating func responseEnded() {
        if case .admitted? = pending.first { pending.removeFirst() }
    }

    /// The next held 429 that may now be written (call until nil after ``responseEnded()``).
    mutating func nextReleasedDenial() -> Denied? {
        guard case .denied(let denied)? = pending.first else { return nil }
        pending.removeFirst()
        return denied
    }
}
