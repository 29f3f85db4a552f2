import NIOCore

/// A bounded queue of waiting requests ordered by client class: `trusted` first, then `verified`,
/// `known`, `unknown`, `suspicious` (and `banned`, which the filter never forwards), first in,
/// first out within a class.
///
/// When it is full, an arrival of a more trusted class evicts the newest waiter of the least
/// trusted class present (the one that has waited least of those that matter least); an arrival
/// no more trusted than every waiter is refused itself. So what overflows is shed lowest class
/// first, and `trusted` and `verified` go last.
///
/// Every waiter has a deadline (`now + timeout` on arrival); since the timeout is the same for
/// all, deadlines grow along each class's line and `removeExpired(now:)` only looks at the fronts.
/// A value type free of I/O.
public struct ClassPriorityQueue<Element> {
    /// A waiter, with the ticket that names it and when it stops waiting.
    public struct Entry {
        public var ticket: UInt64
        public var element: Element
        public var clientClass: ClientClass
        /// Nanoseconds of the caller's clock.
        public var deadline: UInt64
    }

    /// What `enqueue` did.
    public enum EnqueueOutcome {
        /// Queued under `ticket`.
        case queued(ticket: UInt64)
        /// Queued under `ticket`, after evicting `evicted` to make room.
        case queuedEvicting(ticket: UInt64, evicted: Entry)
        /// Full, and nothing less trusted to evict: the arrival is refused.
        case rejected
    }

    /// Most waiters held at once (0: every arrival is refused).
    public let capacity: Int
    /// One line per class, indexed by `ClientClass.rank`.
    private var lines: [CircularBuffer<Entry>]
    private var nextTicket: UInt64 = 1
    /// Waiters now.
    public private(set) var count = 0

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
        self.lines = ClientClass.allCases.map { _ in CircularBuffer() }
    }

    public var isEmpty: Bool { count == 0 }

    /// Waiters of `clientClass` now.
    public func count(of clientClass: ClientClass) -> Int { lines[clientClass.rank].count }

    /// Adds a waiter that gives up at `deadline`.
    public mutating func enqueue(_ element: Element, clientClass: ClientClass, deadline: UInt64) -> EnqueueOutcome {
        var evicted: Entry?
        if count >= capacity {
            // The least trusted class present, if it is less trusted than the arrival.
            guard let lowest = lines.indices.last(where: { !lines[$0].isEmpty }), lowest > clientClass.rank,
                  let newest = lines[lowest].popLast()
            else { return .rejected }
            count -= 1
            evicted = newest
        }
        let ticket = nextTicket
        nextTicket &+= 1
        lines[clientClass.rank].append(Entry(ticket: ticket, element: element, clientClass: clientClass, deadline: deadline))
        count += 1
        if let evicted { return .queuedEvicting(ticket: ticket, evicted: evicted) }
        return .queued(ticket: ticket)
    }

    /// Takes the first waiter of the most trusted class.
    public mutating func popFirst() -> Entry? {
        for rank in lines.indices where !lines[rank].isEmpty {
            count -= 1
            return lines[rank].removeFirst()
        }
        return nil
    }

    /// Removes the waiter named `ticket` (it gave up or timed out); nil if it is not waiting.
    public mutating func remove(ticket: UInt64, clientClass: ClientClass) -> Entry? {
        let rank = clientClass.rank
        // Usually near the front: waiters time out in arrival order.
        guard let index = lines[rank].firstIndex(where: { $0.ticket == ticket }) else { return nil }
        count -= 1
        return lines[rank].remove(at: index)
    }

    /// Removes every waiter whose deadline is at or before `now`.
    public mutating func removeExpired(now: UInt64) -> [Entry] {
        var expired: [Entry] = []
        for rank in lines.indices {
            while let first = lines[rank].first, first.deadline <= now {
                expired.append(lines[rank].removeFirst())
                count -= 1
            }
        }
        return expired
    }
}

extension ClassPriorityQueue: Sendable where Element: Sendable {}
extension ClassPriorityQueue.Entry: Sendable where Element: Sendable {}
extension ClassPriorityQueue.EnqueueOutcome: Sendable where Element: Sendable {}
