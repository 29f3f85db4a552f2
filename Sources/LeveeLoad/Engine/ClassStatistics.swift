import Histogram

/// Everything measured for one traffic class (on one event loop, or merged over all of them).
public struct ClassStatistics: Sendable {
    /// One second of the time line.
    public struct Second: Sendable, Equatable {
        public var sent = 0
        public var completed = 0
        /// 2xx and 3xx responses.
        public var served = 0
        /// 403, 429 and 503 responses, plus refused and reset connections.
        public var blocked = 0
        public var errors = 0
        /// Latency (from the intended send time) of the responses completed in this second.
        public var latency = CoarseHistogram()
        /// An empty second.
        /// Nothing measured yet.
    public init() {}
    }

    /// Requests sent and responses received.
    public var sent = 0
    public var completed = 0
    /// Errors by ``ErrorKind`` raw value.
    public var errors = [Int](repeating: 0, count: ErrorKind.allCases.count)
    /// Response count by status code (index = code, 0..<600).
    public var status = [Int](repeating: 0, count: 600)
    /// Responses carrying `Retry-After`, rate-limit fields; body bytes received.
    public var retryAfterSeen = 0
    public var rateLimitSeen = 0
    public var bytesReceived = 0
    /// Latency from the intended send time (coordinated omission corrected), microseconds.
    public var latency = Self.makeHistogram()
    /// Latency from the actual send time (service time, what a naive closed-loop tool reports), microseconds.
    public var naiveLatency = Self.makeHistogram()
    public var timeline: [Second] = []
    /// Served and blocked counts per 100 ms, for time to mitigate.
    public var fineServed: [Int] = []
    public var fineBlocked: [Int] = []
    /// Clock reading (ns) of the first send and last completion, to compute achieved rates.
    public var firstSend: Int64 = .max
    public var lastEvent: Int64 = 0
    /// Clock reading (ns) when the class's last client finished.
    public var finishedAt: Int64 = 0

    /// At most this many seconds of time line are kept (memory stays bounded on long runs).
    public static let maxSeconds = 24 * 3600

    static func makeHistogram() -> Histogram<UInt64> {
        var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        h.autoResize = true
        return h
    }

    public init() {}

    public var errorCount: Int { errors.reduce(0, +) }

    @inline(__always)
    mutating func second(_ offset: Int64) -> Int {
        let s = Int(max(offset, 0) / 1_000_000_000)
        let i = min(s, Self.maxSeconds - 1)
        if timeline.count <= i { timeline.append(contentsOf: repeatElement(Second(), count: i + 1 - timeline.count)) }
        return i
    }

    @inline(__always)
    mutating func fine(_ offset: Int64) -> Int {
        let i = min(Int(max(offset, 0) / 100_000_000), Self.maxSeconds * 10 - 1)
        if fineServed.count <= i {
            fineServed.append(contentsOf: repeatElement(0, count: i + 1 - fineServed.count))
            fineBlocked.append(contentsOf: repeatElement(0, count: i + 1 - fineBlocked.count))
        }
        return i
    }

    /// A request left (offsets are from the run's start).
    mutating func recordSent(at offset: Int64, now: Int64) {
        sent += 1
        if now < firstSend { firstSend = now }
        let s = second(offset)
        timeline[s].sent += 1
    }

    /// A response arrived.
    mutating func recordResponse(_ r: ResponseParser.Response, correctedNanos: Int64, naiveNanos: Int64,
                                 at offset: Int64, now: Int64) {
        completed += 1
        status[min(max(r.status, 0), 599)] += 1
        if r.retryAfter { retryAfterSeen += 1 }
        if r.rateLimit { rateLimitSeen += 1 }
        bytesReceived += r.bodyBytes
        let corrected = UInt64(max(correctedNanos / 1000, 1))
        _ = latency.record(corrected)
        _ = naiveLatency.record(UInt64(max(naiveNanos / 1000, 1)))
        lastEvent = now
        let s = second(offset)
        timeline[s].completed += 1
        timeline[s].latency.record(micros: corrected)
        let f = fine(offset)
        if r.status < 400 {
            timeline[s].served += 1
            fineServed[f] += 1
        } else if r.status == 403 || r.status == 429 || r.status == 503 {
            timeline[s].blocked += 1
            fineBlocked[f] += 1
        }
    }

    /// A request failed without a response.
    mutating func recordError(_ kind: ErrorKind, at offset: Int64, now: Int64) {
        errors[kind.rawValue] += 1
        lastEvent = now
        let s = second(offset)
        timeline[s].errors += 1
        if kind == .refused || kind == .reset {
            timeline[s].blocked += 1
            fineBlocked[fine(offset)] += 1
        }
    }

    /// Adds another loop's measurements.
    public mutating func merge(_ o: ClassStatistics) {
        sent += o.sent
        completed += o.completed
        for i in errors.indices { errors[i] += o.errors[i] }
        for i in status.indices { status[i] += o.status[i] }
        retryAfterSeen += o.retryAfterSeen
        rateLimitSeen += o.rateLimitSeen
        bytesReceived += o.bytesReceived
        latency.add(o.latency)
        naiveLatency.add(o.naiveLatency)
        if timeline.count < o.timeline.count {
            timeline.append(contentsOf: repeatElement(Second(), count: o.timeline.count - timeline.count))
        }
        for (i, s) in o.timeline.enumerated() {
            timeline[i].sent += s.sent
            timeline[i].completed += s.completed
            timeline[i].served += s.served
            timeline[i].blocked += s.blocked
            timeline[i].errors += s.errors
            timeline[i].latency.add(s.latency)
        }
        if fineServed.count < o.fineServed.count {
            fineServed.append(contentsOf: repeatElement(0, count: o.fineServed.count - fineServed.count))
            fineBlocked.append(contentsOf: repeatElement(0, count: o.fineBlocked.count - fineBlocked.count))
        }
        for i in o.fineServed.indices {
            fineServed[i] += o.fineServed[i]
            fineBlocked[i] += o.fineBlocked[i]
        }
        firstSend = min(firstSend, o.firstSend)
        lastEvent = max(lastEvent, o.lastEvent)
        finishedAt = max(finishedAt, o.finishedAt)
    }
}

/// The statistics of one class on one event loop; touched only from that loop (no locks on the hot path).
final class ClassRecorder {
    var stats = ClassStatistics()
}

@available(*, unavailable)
extension ClassRecorder: Sendable {}
