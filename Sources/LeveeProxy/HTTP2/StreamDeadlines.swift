import NIOCore

/// The request and response-header deadlines of one HTTP/2 connection's streams, on one timer.
/// Every stream has its own `ProxyConnectionHandler`, so each scheduled a NIO timer and cancelled
/// it when the stream ended — about 5 % of an HTTP/2 request's CPU (perf), most of it the cancel's
/// linear search of the loop's timer heap. Here a stream's deadline is an entry in a table of at
/// most the connection's concurrent streams, and the one timer is re-armed only when a deadline
/// comes earlier than it (rarely: later streams have later deadlines). Used on the connection's
/// event loop only.
final class StreamDeadlines {
    private let eventLoop: any EventLoop
    private var waiting: [ObjectIdentifier: (deadline: NIODeadline, stream: any StreamDeadlineOwner)] = [:]
    private var timer = EarliestDeadlineTimer()

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Makes sure `stream.streamDeadlinePassed()` runs no later than `deadline`.
    func require(by deadline: NIODeadline, for stream: any StreamDeadlineOwner) {
        let id = ObjectIdentifier(stream)
        if let existing = waiting[id], existing.deadline <= deadline { return }
        waiting[id] = (deadline, stream)
        guard deadline < timer.firesAt else { return }
        timer.arm(by: deadline, on: eventLoop) { self.fired() }
    }

    /// The stream ended or has no deadline left. The timer stays armed: when it fires it finds
    /// nothing due and re-arms for the earliest deadline still waiting, if any.
    func remove(_ stream: any StreamDeadlineOwner) {
        waiting[ObjectIdentifier(stream)] = nil
    }

    var count: Int { waiting.count }

    /// The timer's closure holds this strongly until it fires (at most one deadline away): a
    /// weak capture would move this object's reference count to a side table, and every stream
    /// retains it.
    private func fired() {
        timer.fired()
        let now = NIODeadline.now()
        let due = waiting.filter { $0.value.deadline <= now }
        for (id, entry) in due {
            waiting[id] = nil
            entry.stream.streamDeadlinePassed()  // may `require` again
        }
        if let next = waiting.values.map(\.deadline).min(), next < timer.firesAt {
            timer.arm(by: next, on: eventLoop) { self.fired() }
        }
    }
}

/// A stream handler whose deadlines `StreamDeadlines` keeps.
protocol StreamDeadlineOwner: AnyObject {
    /// One of the deadlines asked for has passed (check which, and ask again for the next).
    func streamDeadlinePassed()
}

@available(*, unavailable)
extension StreamDeadlines: Sendable {}
