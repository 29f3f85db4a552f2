import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS

/// One simulated HTTP/2 client of a traffic class: one TLS connection (ALPN `h2`) carrying up to
/// `plan.streams` requests at once, each on its own stream. Closed loop: every free stream sends at
/// once. Open loop: requests leave on the class's arrival schedule when a stream is free, later
/// otherwise, and latency counts from the intended send time (as ``LoadWorker`` does).
/// Lives on one event loop and is only touched from it.
final class HTTP2LoadWorker {
    /// A request sent (or waiting for its connection) and what has arrived of its response.
    struct Stream {
        var intended: Int64
        var sentAt: Int64
        var head: HTTPRequestHead
        var channel: (any Channel)?
        var response = ResponseParser.Response(status: 0, keepAlive: true, retryAfter: false, rateLimit: false, bodyBytes: 0)
    }

    let plan: ClassPlan
    let index: Int
    let eventLoop: any EventLoop
    let recorder: ClassRecorder
    let done: EventLoopPromise<Void>
    var client: ClientCursor

    var connection: (any Channel)?
    var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
    var connecting = false
    /// Bumped per connection, so that events from a dropped connection are ignored.
    var generation = 0
    var streams: [Int: Stream] = [:]
    var nextStreamID = 0
    /// The timer of the next open-loop arrival (or of a class that is not active yet).
    var wakeUp: Scheduled<Void>?
    /// Set after a connection failure until the next attempt is due.
    var paused = false
    var stopping = false
    var finished = false
    var timers: [Scheduled<Void>] = []

    init(plan: ClassPlan, index: Int, eventLoop: any EventLoop, recorder: ClassRecorder) {
        self.plan = plan
        self.index = index
        self.eventLoop = eventLoop
        self.recorder = recorder
        done = eventLoop.makePromise()
        client = ClientCursor(plan: plan, client: index)
    }

    var loop: NIOIsolatedEventLoop { eventLoop.assumeIsolated() }

    // MARK: run control

    func start() {
        timers.append(loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(plan.stop))) { [self] in stop() })
        let period = max(min(plan.timeout / 4, 250_000_000), 10_000_000)
        func tick() {
            guard !finished else { return }
            let now = LoadWorker.now()
            for (id, s) in streams where now - s.sentAt > plan.timeout { fail(id, .timeout) }
            timers.append(loop.scheduleTask(in: .nanoseconds(period)) { tick() })
            if timers.count > 64 { timers.removeFirst(32) }
        }
        timers.append(loop.scheduleTask(in: .nanoseconds(period)) { tick() })
        if plan.start > LoadWorker.now() {
            wakeUp = loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(plan.start))) { [self] in
                wakeUp = nil
                pump()
            }
        } else {
            pump()
        }
    }

    /// Sends requests while a stream is free and one is due; arms a timer for the next one when early.
    func pump() {
        while !stopping && !paused && streams.count < plan.streams {
            guard client.quota > 0 else {
                if streams.isEmpty { stop() }
                return
            }
            let now = LoadWorker.now()
            let t = plan.activeTime(plan.interval > 0 ? client.nextIntended : now)
            if t >= plan.stop { return stop() }
            if t > now + 20_000 {
                if wakeUp == nil {
                    wakeUp = loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(t))) { [self] in
                        wakeUp = nil
                        pump()
                    }
                }
                return
            }
            if plan.interval > 0 { client.nextIntended = t + plan.interval }
            fire(intended: max(t, plan.start))
        }
    }

    func fire(intended: Int64) {
        let head: HTTPRequestHead
        switch client.nextChoice(in: plan) {
        case .template(let i): head = plan.heads[i]
        case .built(let method, let path, let forwardedFor):
            head = plan.encoder.head(method: method, path: path, forwardedFor: forwardedFor)
        }
        client.quota -= 1
        let now = LoadWorker.now()
        recorder.stats.recordSent(at: now - plan.runStart, now: now)
        let id = nextStreamID
        nextStreamID += 1
        streams[id] = Stream(intended: intended, sentAt: now, head: head)
        if multiplexer != nil {
            open(id)
        } else if !connecting {
            connect()
        }
    }

    /// Opens stream `id` on the current connection and sends its request.
    func open(_ id: Int) {
        guard let multiplexer else { return }
        let gen = generation
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let created = eventLoop.makePromise(of: (any Channel).self)
        multiplexer.createStreamChannel(promise: created) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .https))
                try stream.pipeline.syncOperations.addHandler(HTTP2StreamHandler(worker: bound.value, id: id))
            }
        }
        created.futureResult.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let stream):
                guard streams[id] != nil, !finished else {
                    stream.close(promise: nil)
                    return
                }
                streams[id]?.channel = stream
                guard let s = streams[id] else { return }
                stream.write(HTTPClientRequestPart.head(s.head), promise: nil)
                if let body = plan.body { stream.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
                stream.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            case .failure:
                // The connection cannot open streams (GOAWAY, closing): drop it (failing its requests, this
                // one included); the next request reconnects.
                if gen == generation { dropConnection() } else { fail(id, .reset) }
            }
        }
    }

    // MARK: connections

    func connect() {
        generation += 1
        let gen = generation
        connecting = true
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(min(plan.timeout, 10_000_000_000)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
        let bindAddress = client.nextSource(in: plan)
        if let bindAddress { bootstrap = bootstrap.bind(to: bindAddress) }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let tls = plan.tlsContext
        let serverName = plan.serverName
        bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                if let tls { try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                try sync.addHandler(HTTP2ConnectionHandler(worker: bound.value, generation: gen))
            }
        }
        .connect(to: plan.target)
        .assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let channel):
                guard gen == generation, !finished else {
                    channel.close(promise: nil)
                    return
                }
                connection = channel
            case .failure(let error):
                guard gen == generation else { return }
                connectionLost(LoadWorker.kind(of: error), generation: gen)
            }
        }
    }

    /// The TLS handshake chose `h2` and the HTTP/2 handler is in place: the waiting requests go out.
    func connectionReady(_ channel: any Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer, generation gen: Int) {
        guard gen == generation, !finished else {
            channel.close(promise: nil)
            return
        }
        connection = channel
        self.multiplexer = multiplexer
        connecting = false
        for (id, s) in streams where s.channel == nil { open(id) }
    }

    /// The connection failed or closed: every request on it fails with `kind`.
    func connectionLost(_ kind: ErrorKind, generation gen: Int) {
        guard gen == generation else { return }
        generation += 1
        connection = nil
        multiplexer = nil
        connecting = false
        let now = LoadWorker.now()
        // Removed before closing: a closing stream reports back at once, and must find nothing to fail twice.
        let lost = streams
        streams.removeAll()
        for _ in lost { recorder.stats.recordError(kind, at: now - plan.runStart, now: now) }
        for s in lost.values { s.channel?.close(promise: nil) }
        if stopping {
            if streams.isEmpty { finish() }
        } else if !paused {
            // Never inline: a connect that fails at once would loop inside pump(). A closed loop against a
            // failing server would spin, so it waits a little; an open loop carries on with its schedule.
            paused = true
            let delay: TimeAmount = plan.interval == 0 ? .milliseconds(10) : .zero
            timers.append(loop.scheduleTask(in: delay) { [self] in
                paused = false
                pump()
            })
        }
    }

    func dropConnection() {
        let ch = connection
        connectionLost(.reset, generation: generation)
        ch?.close(promise: nil)
    }

    // MARK: events from the stream handlers

    func streamHead(_ id: Int, _ head: HTTPResponseHead) {
        guard streams[id] != nil else { return }
        if head.status.code < 200 { return }  // an interim (1xx) answer: the final one follows
        streams[id]?.response.status = Int(head.status.code)
        for field in head.headers { streams[id]?.response.note(headerName: field.name) }
    }

    func streamBody(_ id: Int, bytes: Int) {
        streams[id]?.response.bodyBytes += bytes
    }

    func streamEnded(_ id: Int) {
        guard let s = streams.removeValue(forKey: id) else { return }
        let now = LoadWorker.now()
        recorder.stats.recordResponse(s.response, correctedNanos: now - s.intended, naiveNanos: now - s.sentAt,
                                      at: now - plan.runStart, now: now)
        afterRequestEnded()
    }

    /// The stream closed: if its response had not ended, the server reset it.
    func streamClosed(_ id: Int) {
        fail(id, .reset)
    }

    /// Request `id` failed without a (complete) response.
    func fail(_ id: Int, _ kind: ErrorKind) {
        guard let s = streams.removeValue(forKey: id) else { return }
        s.channel?.close(promise: nil)  // an RST_STREAM for a timed-out request
        let now = LoadWorker.now()
        recorder.stats.recordError(kind, at: now - plan.runStart, now: now)
        afterRequestEnded()
    }

    func afterRequestEnded() {
        if stopping {
            if streams.isEmpty { finish() }
        } else {
            pump()
        }
    }

    // MARK: stopping

    /// The class's time or quota is over: no new requests; those in flight get a short grace.
    func stop() {
        guard !stopping else { return }
        stopping = true
        wakeUp?.cancel()
        wakeUp = nil
        guard !streams.isEmpty else { return finish() }
        let grace = min(plan.timeout, 2_000_000_000)
        timers.append(loop.scheduleTask(in: .nanoseconds(grace)) { [self] in cancelInFlight() })
    }

    func cancelInFlight() {
        let now = LoadWorker.now()
        for _ in streams { recorder.stats.recordError(.cancelled, at: now - plan.runStart, now: now) }
        streams.removeAll()
        finish()
    }

    func finish() {
        guard !finished else { return }
        finished = true
        stopping = true
        recorder.stats.finishedAt = max(recorder.stats.finishedAt, LoadWorker.now())
        for t in timers { t.cancel() }
        timers.removeAll()
        wakeUp?.cancel()
        wakeUp = nil
        generation += 1
        multiplexer = nil
        connection?.close(promise: nil)
        connection = nil
        done.succeed()
    }
}

@available(*, unavailable)
extension HTTP2LoadWorker: Sendable {}

/// The connection-level handler of an HTTP/2 load connection: when the TLS handshake completes it
/// checks that ALPN chose `h2` and puts the HTTP/2 handler behind itself (in the same event, so no
/// server byte is missed); it reports the connection's end to its worker.
final class HTTP2ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let worker: HTTP2LoadWorker
    let generation: Int

    init(worker: HTTP2LoadWorker, generation: Int) {
        self.worker = worker
        self.generation = generation
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event {
            guard negotiated == "h2" else {
                // The run's pre-flight check refuses such a server; one that changes its mind mid-run costs errors.
                worker.connectionLost(.other, generation: generation)
                context.close(promise: nil)
                return
            }
            do {
                let multiplexer = try context.pipeline.syncOperations.configureHTTP2Pipeline(
                    mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
                ) { channel in channel.close() }  // a client accepts no pushed streams
                worker.connectionReady(context.channel, multiplexer: multiplexer, generation: generation)
            } catch {
                worker.connectionLost(.other, generation: generation)
                context.close(promise: nil)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        worker.connectionLost(.reset, generation: generation)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        worker.connectionLost(LoadWorker.kind(of: error), generation: generation)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension HTTP2ConnectionHandler: Sendable {}

/// The handler of one request stream: it hands the response parts and the stream's end to the worker.
final class HTTP2StreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    let worker: HTTP2LoadWorker
    let id: Int

    init(worker: HTTP2LoadWorker, id: Int) {
        self.worker = worker
        self.id = id
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head): worker.streamHead(id, head)
        case .body(let buffer): worker.streamBody(id, bytes: buffer.readableBytes)
        case .end: worker.streamEnded(id)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        worker.streamClosed(id)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension HTTP2StreamHandler: Sendable {}
