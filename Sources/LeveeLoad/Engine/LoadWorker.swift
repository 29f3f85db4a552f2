import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One simulated client of a traffic class: it opens a connection (from its own source address when
/// asked), sends the class's requests on schedule (open loop) or back to back (closed loop), reads the
/// responses with ``ResponseParser`` and records everything in its loop's ``ClassRecorder``.
/// Lives on one event loop and is only touched from it.
final class LoadWorker {
    let plan: ClassPlan
    let index: Int
    let eventLoop: any EventLoop
    let recorder: ClassRecorder
    let done: EventLoopPromise<Void>
    var client: ClientCursor
    var replayPosition: Int

    var channel: (any Channel)?
    var generation = 0
    var parser = ResponseParser()
    var inFlight = false
    var intended: Int64 = 0
    var sentAt: Int64 = 0
    var pending: ByteBuffer?
    var stopping = false
    var finished = false
    var timers: [Scheduled<Void>] = []
    var trickle: Scheduled<Void>?

    init(plan: ClassPlan, index: Int, eventLoop: any EventLoop, recorder: ClassRecorder) {
        self.plan = plan
        self.index = index
        self.eventLoop = eventLoop
        self.recorder = recorder
        done = eventLoop.makePromise()
        client = ClientCursor(plan: plan, client: index)
        replayPosition = index
    }

    static func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }

    var loop: NIOIsolatedEventLoop { eventLoop.assumeIsolated() }

    // MARK: run control

    func start() {
        timers.append(loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(plan.stop))) { [self] in stop() })
        // One periodic check replaces a timer per request: it finds the request that has waited too long.
        let period = max(min(plan.timeout / 4, 250_000_000), 10_000_000)
        if plan.timeout < .max / 8 {
            func tick() {
                guard !finished else { return }
                if inFlight && Self.now() - sentAt > plan.timeout { fail(.timeout) }
                timers.append(loop.scheduleTask(in: .nanoseconds(period)) { tick() })
                if timers.count > 64 { timers.removeFirst(32) }
            }
            timers.append(loop.scheduleTask(in: .nanoseconds(period)) { tick() })
        }
        let first = plan.start
        if first > Self.now() {
            timers.append(loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(first))) { [self] in scheduleNext() })
        } else {
            scheduleNext()
        }
    }

    /// Picks the next intended send time and sends then (or now, when late: the open loop catches up).
    func scheduleNext() {
        guard !stopping else { return }
        guard client.quota > 0 else { return stop() }
        let now = Self.now()
        var t: Int64
        if let replay = plan.replay {
            guard replayPosition < replay.count else { return stop() }
            t = plan.start + replay[replayPosition].offset
        } else if plan.interval > 0 {
            t = plan.activeTime(client.nextIntended)
            client.nextIntended = t
        } else {
            t = plan.activeTime(now)
        }
        if t >= plan.stop { return stop() }
        if t > now + 20_000 {
            let at = t
            loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(at))) { [self] in fire(intended: at) }
        } else {
            fire(intended: max(t, plan.start))
        }
    }

    func nextRequest() -> (ByteBuffer, Bool) {
        if let replay = plan.replay {
            let item = replay[replayPosition]
            return (item.bytes, item.isHead)
        }
        switch client.nextChoice(in: plan) {
        case .template(let i):
            return (plan.templates[i], plan.templateIsHead[i])
        case .built(let method, let path, let forwardedFor):
            return (plan.encoder.encode(method: method, path: path, forwardedFor: forwardedFor), method == "HEAD")
        }
    }

    func fire(intended: Int64) {
        guard !stopping, !inFlight else { return }
        let (request, isHead) = nextRequest()
        client.quota -= 1
        let now = Self.now()
        recorder.stats.recordSent(at: now - plan.runStart, now: now)
        inFlight = true
        self.intended = intended
        sentAt = now
        parser.expectNoBody = isHead
        if let channel {
            write(request, on: channel)
        } else {
            pending = request
            connect()
        }
    }

    func write(_ request: ByteBuffer, on channel: any Channel) {
        if case .slowloris(let interval, let hold) = plan.trafficClass.profile {
            startTrickle(request, on: channel, interval: interval, hold: hold)
            return
        }
        channel.writeAndFlush(request, promise: nil)
        if case .slowRead = plan.trafficClass.profile { channel.read() }
    }

    // MARK: connections

    /// The bootstrap without a source address, built once: creating one per connection costs allocations.
    lazy var baseBootstrap: ClientBootstrap = makeBootstrap()

    func makeBootstrap() -> ClientBootstrap {
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(min(plan.timeout, 10_000_000_000)))
        switch plan.trafficClass.profile {
        case .slowRead(_, let readSize):
            bootstrap = bootstrap
                .channelOption(.autoRead, value: false)
                .channelOption(.maxMessagesPerRead, value: 1)
                .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(max(readSize, 256)))
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: max(readSize, 1)))
        case .slowloris:
            // Trickled header lines must not wait for Nagle's algorithm. Other requests go out in one write.
            bootstrap = bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1)
        case .normal, .pcapReplay:
            break
        }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        // The initializer runs on this loop while connect() is on the stack, so it sees the current generation.
        return bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let worker = bound.value
                if let tls = worker.plan.tlsContext {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: tls, serverHostname: worker.plan.serverName))
                }
                try channel.pipeline.syncOperations.addHandler(LoadWorkerHandler(worker: worker, generation: worker.generation))
            }
        }
    }

    func connect() {
        generation += 1
        let gen = generation
        var bootstrap = baseBootstrap
        let bindAddress = client.nextSource(in: plan)
        if let bindAddress { bootstrap = bootstrap.bind(to: bindAddress) }
        let connecting = (plan.trafficClass.profile == .normal ? fastConnect(bindTo: bindAddress) : nil) ?? bootstrap.connect(to: plan.target)
        connecting.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let ch):
                guard gen == generation, !finished else {
                    ch.close(promise: nil)
                    return
                }
                channel = ch
                sendPreamble(on: ch)
                if let request = pending {
                    pending = nil
                    write(request, on: ch)
                }
            case .failure(let error):
                guard gen == generation else { return }
                fail(Self.kind(of: error))
            }
        }
    }

    /// PROXY protocol identities announce the client before anything else on the connection.
    func sendPreamble(on ch: any Channel) {
        guard let announced = client.announced else { return }
        let local = ch.localAddress?.port ?? 0
        switch plan.trafficClass.identity {
        case .proxyV1:
            ch.write(ProxyProtocolHeader.v1(source: announced, destination: plan.targetIP, sourcePort: local,
                                            destinationPort: plan.target.port ?? 0), promise: nil)
        case .proxyV2:
            ch.write(ProxyProtocolHeader.v2(source: announced, destination: plan.targetIP, sourcePort: local,
                                            destinationPort: plan.target.port ?? 0), promise: nil)
        case .sourceAddress, .forwardedFor:
            break
        }
    }

    static func kind(of error: any Error) -> ErrorKind {
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return .refused
            case ECONNRESET, EPIPE: return .reset
            case ETIMEDOUT: return .timeout
            default: return .other
            }
        }
        if error is ChannelError {
            if case ChannelError.connectTimeout = error { return .timeout }
            return .reset
        }
        if let multi = error as? NIOConnectionError {
            return multi.connectionErrors.first.map { kind(of: $0.error) } ?? .refused
        }
        return .other
    }

    func closeChannel() {
        trickle?.cancel()
        trickle = nil
        guard let ch = channel else { return }
        generation += 1
        channel = nil
        parser = ResponseParser()
        ch.close(promise: nil)
    }

    // MARK: events from the handler

    func read(_ buffer: inout ByteBuffer, generation gen: Int) {
        guard gen == generation else { return }
        while buffer.readableBytes > 0 {
            let response: ResponseParser.Response?
            do {
                response = try parser.parse(&buffer)
            } catch {
                return fail(.other)
            }
            guard let response else { break }
            guard inFlight else { continue }  // an answer nobody asked for (e.g. a 408 before closing)
            complete(response)
            if !response.keepAlive || plan.trafficClass.newConnectionPerRequest { closeChannel() }
            scheduleNext()
            if channel == nil || gen != generation { return }
        }
        if case .slowRead(let interval, _) = plan.trafficClass.profile, inFlight, let ch = channel {
            loop.scheduleTask(in: .nanoseconds(interval)) { ch.read() }
        }
    }

    func inactive(generation gen: Int) {
        guard gen == generation else { return }
        channel = nil
        trickle?.cancel()
        generation += 1
        if inFlight {
            if let response = parser.connectionClosed() {
                complete(response)
                parser = ResponseParser()
                scheduleNext()
            } else {
                parser = ResponseParser()
                fail(.reset)
            }
        } else {
            parser = ResponseParser()
        }
    }

    func complete(_ response: ResponseParser.Response) {
        inFlight = false
        let now = Self.now()
        recorder.stats.recordResponse(response, correctedNanos: now - intended, naiveNanos: now - sentAt,
                                      at: now - plan.runStart, now: now)
        advance()
    }

    /// The current request failed: record it, drop the connection, carry on with the schedule.
    func fail(_ kind: ErrorKind) {
        guard inFlight else { return }
        inFlight = false
        pending = nil
        let now = Self.now()
        recorder.stats.recordError(kind, at: now - plan.runStart, now: now)
        closeChannel()
        advance()
        if stopping { return finish() }
        if plan.interval == 0 && plan.replay == nil && kind == .refused {
            // A closed loop against a refusing port would spin; wait a little before the next attempt.
            loop.scheduleTask(in: .milliseconds(10)) { [self] in scheduleNext() }
        } else {
            scheduleNext()
        }
    }

    func advance() {
        if plan.replay != nil {
            replayPosition += plan.trafficClass.connections
        } else if plan.interval > 0 {
            client.nextIntended += plan.interval
        }
        if stopping && !inFlight { finish() }
    }

    // MARK: slowloris

    func startTrickle(_ request: ByteBuffer, on channel: any Channel, interval: Int64, hold: Int64) {
        // Everything but the blank line that ends the head goes out now; header lines follow one by one.
        let view = request.readableBytesView
        var split = request.readableBytes
        if let r = view.firstRange(of: [13, 10, 13, 10]) { split = r.lowerBound - view.startIndex + 2 }
        var head = request.getSlice(at: request.readerIndex, length: split) ?? request
        let rest = request.getSlice(at: request.readerIndex + split, length: request.readableBytes - split) ?? ByteBuffer()
        channel.writeAndFlush(head, promise: nil)
        head.clear()
        let until = Self.now() + hold
        var n = 0
        func step() {
            guard self.channel === channel, inFlight else { return }
            if Self.now() >= until || stopping {
                channel.writeAndFlush(rest, promise: nil)
                return
            }
            n += 1
            channel.writeAndFlush(ByteBuffer(string: "X-Levee-Trickle-\(n): x\r\n"), promise: nil)
            trickle = loop.scheduleTask(in: .nanoseconds(interval)) { step() }
        }
        trickle = loop.scheduleTask(in: .nanoseconds(interval)) { step() }
    }

    // MARK: stopping

    /// The class's time or quota is over: no new requests; an ordinary request in flight gets a short grace.
    func stop() {
        guard !stopping else { return }
        stopping = true
        guard inFlight else { return finish() }
        switch plan.trafficClass.profile {
        case .slowloris, .slowRead:
            cancelInFlight()
        default:
            let grace = min(plan.timeout, 2_000_000_000)
            timers.append(loop.scheduleTask(in: .nanoseconds(grace)) { [self] in cancelInFlight() })
        }
    }

    func cancelInFlight() {
        if inFlight {
            inFlight = false
            let now = Self.now()
            recorder.stats.recordError(.cancelled, at: now - plan.runStart, now: now)
        }
        finish()
    }

    func finish() {
        guard !finished else { return }
        finished = true
        baseBootstrap = ClientBootstrap(group: eventLoop)  // drops the initializer's reference to this worker
        stopping = true
        recorder.stats.finishedAt = max(recorder.stats.finishedAt, Self.now())
        for t in timers { t.cancel() }
        timers.removeAll()
        closeChannel()
        done.succeed()
    }
}

@available(*, unavailable)
extension LoadWorker: Sendable {}
