#if os(Linux)
import CPcap
import Glibc
import NIOCore
import Synchronization

/// The closed loop below NIO: a plain epoll loop on its own thread. Each client opens a socket,
/// writes its pre-encoded request, reads the response with ``ResponseParser``, and either sends the
/// next request on the same connection (keep-alive) or closes and reconnects (`new_connection`).
/// A NIO `Channel` costs tens of microseconds of allocations and bookkeeping per connection and a few
/// per request; this path costs a fraction, which is what a closed loop measuring a server's maximum
/// (like wrk) needs. The open loop, slow clients, replays and PROXY/X-Forwarded-For identities go
/// through ``LoadWorker`` on NIO.
final class RawConnectionLoop {
    struct Slot {
        var fd: Int32 = -1
        var written = 0
        var parser = ResponseParser()
        var sentAt: Int64 = 0
        var inFlight = false
        var quota: Int
        var sourceIndex: Int
        var retryAt: Int64 = 0
        var counter: Int
        var wantsWrite = true
    }

    /// Whether a class can take this path.
    static func eligible(_ plan: ClassPlan) -> Bool {
        let c = plan.trafficClass
        guard case .v4 = plan.target, plan.tlsContext == nil, !plan.http2 else { return false }
        return plan.interval == 0 && plan.replay == nil && c.profile == .normal
            && !c.randomPaths && c.identity == .sourceAddress && c.waveOn == nil
    }

    let plan: ClassPlan
    let progress: RawLoopProgress
    let epfd: Int32
    let requests: [[UInt8]]
    var slots: [Slot]
    var stats = ClassStatistics()
    var buffer = [UInt8](repeating: 0, count: 65536)
    var target: sockaddr_in
    var sources: [sockaddr_in?]

    init(plan: ClassPlan, clients: [Int], progress: RawLoopProgress) {
        self.plan = plan
        self.progress = progress
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        requests = plan.templates.map { Array($0.readableBytesView) }
        slots = clients.map { Slot(quota: plan.quotas[$0], sourceIndex: $0, counter: $0) }
        if case .v4(let t) = plan.target { target = t.address } else { target = sockaddr_in() }
        sources = []
    }

    deinit {
        if epfd >= 0 { close(epfd) }
    }

    static func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }

    /// Runs until the class's stop time (in-flight requests get the usual grace) and returns what it measured.
    func run() -> ClassStatistics {
        guard epfd >= 0 else { return stats }
        var wait = plan.start - Self.now()
        while wait > 0 {
            var ts = timespec(tv_sec: Int(wait / 1_000_000_000), tv_nsec: Int(wait % 1_000_000_000))
            nanosleep(&ts, nil)
            wait = plan.start - Self.now()
        }
        for i in slots.indices { open(i) }
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        let graceEnd = plan.stop + min(plan.timeout, 2_000_000_000)
        var nextSweep = Self.now() + 50_000_000
        while true {
            let now = Self.now()
            let stopping = now >= plan.stop
            let busy = slots.contains { $0.inFlight }
            if stopping && (!busy || now >= graceEnd) { break }
            if !stopping && !busy && !slots.contains(where: { $0.quota > 0 }) { break }
            let n = epoll_wait(epfd, &events, Int32(events.count), 10)
            for k in 0..<Int(max(n, 0)) { handle(Int(events[k].data.u32), events[k].events) }
            if Self.now() >= nextSweep {
                nextSweep = Self.now() + 50_000_000
                sweep()
            }
        }
        for i in slots.indices where slots[i].inFlight {
            finishSlot(i)
            stats.recordError(.cancelled, at: Self.now() - plan.runStart, now: Self.now())
        }
        stats.finishedAt = Self.now()
        return stats
    }

    /// Timeouts, and clients waiting to retry after a refused connection.
    func sweep() {
        let now = Self.now()
        for i in slots.indices {
            if slots[i].inFlight && now - slots[i].sentAt > plan.timeout {
                fail(i, .timeout)
            } else if !slots[i].inFlight && slots[i].retryAt > 0 && now >= slots[i].retryAt {
                slots[i].retryAt = 0
                open(i)
            }
        }
    }

    func open(_ i: Int) {
        let now = Self.now()
        guard now < plan.stop, slots[i].quota > 0 else { return }
        slots[i].quota -= 1
        stats.recordSent(at: now - plan.runStart, now: now)
        progress.sent.wrappingAdd(1, ordering: .relaxed)
        slots[i].inFlight = true
        slots[i].sentAt = now
        slots[i].written = 0
        slots[i].wantsWrite = true
        slots[i].parser = ResponseParser()
        slots[i].parser.expectNoBody = plan.templateIsHead[slots[i].counter % requests.count]
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return fail(i, .other) }
        slots[i].fd = fd
        if let range = plan.trafficClass.source {
            let index = slots[i].sourceIndex
            slots[i].sourceIndex += plan.trafficClass.connections
            if case .v4(let local)? = try? SocketAddress(ipAddress: range.addressText(index), port: 0) {
                var address = local.address
                let r = withUnsafePointer(to: &address) {  // unsafe: sockaddr_in as sockaddr for bind(2), inside this call only
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                if r != 0 { return fail(i, .other) }
            }
        }
        let r = withUnsafePointer(to: &target) {  // unsafe: sockaddr_in as sockaddr for connect(2), inside this call only
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 && errno != EINPROGRESS {
            return fail(i, errno == ECONNREFUSED ? .refused : .other)
        }
        var event = epoll_event()
        event.events = EPOLLOUT.rawValue | EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        event.data.u32 = UInt32(i)
        if epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) != 0 { return fail(i, .other) }
    }

    func handle(_ i: Int, _ events: UInt32) {
        guard i < slots.count, slots[i].inFlight, slots[i].fd >= 0 else { return }
        let fd = slots[i].fd
        if events & EPOLLERR.rawValue != 0 && slots[i].written == 0 {
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            return fail(i, error == ECONNREFUSED ? .refused : .reset)
        }
        if events & EPOLLOUT.rawValue != 0 && slots[i].written < requests[slots[i].counter % requests.count].count {
            guard writeRequest(i) else { return }
        }
        if events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLRDHUP.rawValue | EPOLLERR.rawValue) != 0 {
            readResponse(i)
        }
    }

    /// Writes what is left of the slot's request; false when the request failed.
    func writeRequest(_ i: Int) -> Bool {
        let fd = slots[i].fd
        let request = requests[slots[i].counter % requests.count]
        let start = slots[i].written
        let n = request.withUnsafeBytes {  // unsafe: the request bytes for write(2), inside this call only
            write(fd, $0.baseAddress! + start, $0.count - start)
        }
        if n < 0 {
            if errno == EAGAIN { return true }
            fail(i, errno == ECONNREFUSED ? .refused : .reset)
            return false
        }
        slots[i].written += n
        let done = slots[i].written == request.count
        // Writable interest only while part of the request waits.
        var event = epoll_event()
        event.events = (done ? 0 : EPOLLOUT.rawValue) | EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        event.data.u32 = UInt32(i)
        if done == slots[i].wantsWrite {
            epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event)
            slots[i].wantsWrite = !done
        }
        return true
    }

    func readResponse(_ i: Int) {
        let fd = slots[i].fd
        while slots[i].inFlight {
            let n = buffer.withUnsafeMutableBytes {  // unsafe: read(2) into the loop's buffer, inside this call only
                read(fd, $0.baseAddress, $0.count)
            }
            if n == 0 {
                if let r = slots[i].parser.connectionClosed() { return complete(i, r) }
                return fail(i, .reset)
            }
            if n < 0 {
                if errno == EAGAIN { return }
                return fail(i, errno == ECONNREFUSED ? .refused : .reset)
            }
            var offset = 0
            while offset < n {
                let result = buffer.withUnsafeBytes {  // unsafe: parse the bytes just read, inside this call only
                    slots[i].parser.consume(UnsafeRawBufferPointer(rebasing: $0[offset..<n]))  // borrowed view of the recv buffer, valid for this call only
                }
                switch result {
                case .failure: return fail(i, .other)
                case .success(let (used, response)):
                    offset += used
                    if let response { return complete(i, response) }
                    if used == 0 { offset = n }
                }
            }
        }
    }

    func finishSlot(_ i: Int) {
        if slots[i].fd >= 0 {
            close(slots[i].fd)  // also removes it from the epoll set
            slots[i].fd = -1
        }
        slots[i].inFlight = false
    }

    func complete(_ i: Int, _ response: ResponseParser.Response) {
        let now = Self.now()
        let latency = now - slots[i].sentAt
        stats.recordResponse(response, correctedNanos: latency, naiveNanos: latency, at: now - plan.runStart, now: now)
        progress.completed.wrappingAdd(1, ordering: .relaxed)
        slots[i].counter += 1
        if response.keepAlive && !plan.trafficClass.newConnectionPerRequest && now < plan.stop && slots[i].quota > 0 {
            // Keep-alive: the next request goes out on the same connection at once.
            slots[i].quota -= 1
            stats.recordSent(at: now - plan.runStart, now: now)
            progress.sent.wrappingAdd(1, ordering: .relaxed)
            slots[i].sentAt = now
            slots[i].written = 0
            slots[i].parser.expectNoBody = plan.templateIsHead[slots[i].counter % requests.count]
            _ = writeRequest(i)
            return
        }
        finishSlot(i)
        open(i)
    }

    func fail(_ i: Int, _ kind: ErrorKind) {
        finishSlot(i)
        let now = Self.now()
        stats.recordError(kind, at: now - plan.runStart, now: now)
        progress.errors.wrappingAdd(1, ordering: .relaxed)
        if kind == .refused || kind == .other {
            slots[i].retryAt = now + 10_000_000  // do not spin against a refusing port
        } else {
            open(i)
        }
    }
}

@available(*, unavailable)
extension RawConnectionLoop: Sendable {}
#endif
