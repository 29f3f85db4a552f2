import Foundation
import Levee
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1

/// The client side of the proxy: on HTTP/1 it parses requests itself (`HTTP1RequestParser`, fed
/// by the connection's guard) and frames responses itself (`ResponseOutput`); on an HTTP/2 stream
/// it takes NIO's request parts. For each request:
/// validate the head, choose the route, ask the filter, then stream the request to a pooled
/// upstream connection and the response back, with back-pressure both ways (reads on one side
/// only while the other side is writable).
///
/// Pipelined requests are answered in order: what arrives for a later request before the current
/// response is done is held here (and reads stop until it is delivered). NIO's pipelining handler
/// would do the same but stops reading at the end of every request, which costs two `epoll_ctl`
/// calls per keep-alive request; here the socket's read interest stays as it is.
final class ProxyConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let loop: LoopContext
    /// The raw-byte guard of an HTTP/1 connection; nil on an HTTP/2 stream (NIOHTTP2 and the
    /// connection's handlers defend the connection there).
    private let guardHandler: ConnectionGuardHandler?
    /// Set when TLS is terminated here: the request context carries `isTLS` and the JA4.
    private let tls: TLSConnectionInfo?
    private let logger: Logger
    private let accessLogger: AccessLogger?
    private var context: ChannelHandlerContext?
    private var peer: SocketAddress?
    /// The peer's IP as text, computed once per connection (for `X-Forwarded-For`).
    private var peerIP: String?
    private var proxyProtocolSource: SocketAddress?
    private var exchange: Exchange?
    /// What arrived for later pipelined requests while `exchange` was being answered.
    private var pipelined: [PipelinedEvent] = []
    private var deliveringPipelined = false

    private enum PipelinedEvent {
        case part(HTTPServerRequestPart)
        case malformed(MessageSyntaxError)
    }
    /// HTTP/1 only: the request parser, fed by `receive(bytes:)`.
    private var requestParser: HTTP1RequestParser?
    private var pendingRead = false
    private var quiescing = false
    private var upstreamNeedsFlush = false
    /// Response parts were written since the last flush: `upstreamReadComplete` flushes them
    /// (streaming), while a response that ends within the read is flushed once with its end.
    private var clientNeedsFlush = false
    /// One timer for the exchange's request and response-header deadlines. It is rescheduled
    /// only when a deadline comes earlier than its firing time; when it fires it checks the
    /// deadlines and re-arms for the nearest, so a keep-alive request schedules nothing.
    private var deadlineTimer = EarliestDeadlineTimer()
    /// On an HTTP/2 stream: the connection's shared deadline timer, used instead of `deadlineTimer`.
    private let streamDeadlines: StreamDeadlines?
    /// Bytes on HTTP/1 (this handler frames responses; no NIO encoder), parts on HTTP/2 streams.
    private var output: ResponseOutput
    /// The previous request head's bytes, reused for the next one (see `recycledRequestHead`).
    private var requestHeadSpare: ByteBuffer?

    init(
        loop: LoopContext, guardHandler: ConnectionGuardHandler?, tls: TLSConnectionInfo? = nil, logger: Logger,
        accessLogger: AccessLogger? = nil, streamDeadlines: StreamDeadlines? = nil
    ) {
        self.streamDeadlines = streamDeadlines
        self.loop = loop
        self.guardHandler = guardHandler
        self.tls = tls
        self.logger = logger
        self.accessLogger = accessLogger
        self.output = ResponseOutput(mode: guardHandler == nil ? .parts : .bytes)
        if guardHandler != nil { self.requestParser = HTTP1RequestParser(limits: loop.runtime.configuration.limits) }
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if streamDeadlines != nil, let tls {  // an HTTP/2 stream: its connection keeps the address
            (self.peer, self.peerIP) = tls.peer(of: context.channel)
        } else {
            self.peer = context.channel.remoteAddress
            self.peerIP = peer?.ipAddress
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelDeadlineTimer()
        self.context = nil
    }

    /// HTTP/2 streams: request parts from NIO's codec. The head is presented as HTTP/1.1 (the
    /// codec marks it 2.0), so that validation, keep-alive and framing rules treat it as one
    /// request on a persistent connection.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var part = Self.unwrapInboundIn(data)
        if case .head(var head) = part {
            head.version = .http1_1
            part = .head(head)
        }
        deliver(part)
    }

    /// HTTP/1: bytes read by the connection, handed over by its guard (no pipeline hop, no boxed
    /// parts). Parsed here, each part delivered as it comes.
    func receive(bytes: ByteBuffer) {
        requestParser?.append(bytes)
        while context != nil {
            let part: HTTPServerRequestPart?
            do {
                part = try requestParser?.next()
            } catch {
                // The parser throws only `MessageSyntaxError`; it parses nothing more after one.
                malformedRequest(error as? MessageSyntaxError ?? MessageSyntaxError(reason: "\(error)"))
                return
            }
            guard let part else { return }
            deliver(part)
        }
    }

    private func deliver(_ part: HTTPServerRequestPart) {
        // The current request is complete: anything now belongs to a later (pipelined) request.
        if !pipelined.isEmpty || exchange?.requestEnded == true {
            pipelined.append(.part(part))
            return
        }
        receive(part)
    }

    private func receive(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head): receiveHead(head)
        case .body(let body): receiveBody(body)
        case .end(let trailers): receiveEnd(trailers)
        }
    }

    /// After a response: hands over what pipelined requests sent meanwhile, one request at a time.
    private func deliverPipelined() {
        guard !deliveringPipelined else { return }
        deliveringPipelined = true
        while !pipelined.isEmpty, context != nil, exchange?.requestEnded != true {
            switch pipelined.removeFirst() {
            case .part(let part): receive(part)
            case .malformed(let error): answerMalformed(error)
            }
        }
        deliveringPipelined = false
        if upstreamNeedsFlush {  // not inside a client read: no channelReadComplete will follow
            upstreamNeedsFlush = false
            exchange?.upstream?.flush()
        }
        resumeReadIfPossible()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            exchange?.upstream?.flush()
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if shouldHoldReads {
            pendingRead = true
            guardHandler?.setReadsHeldBack(true)
            return
        }
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { exchange?.upstream?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let header = event as? ProxyProtocolHeader {
            proxyProtocolSource = header.source
        } else if event is ChannelShouldQuiesceEvent {
            serverIsDraining()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("client connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func malformedRequest(_ error: MessageSyntaxError) {
        if !pipelined.isEmpty || exchange?.requestEnded == true {
            pipelined.append(.malformed(error))  // it belongs to a later request
        } else {
            answerMalformed(error)
        }
    }

    /// Bad syntax or chunking, or an oversized head: answer once, close.
    private func answerMalformed(_ error: MessageSyntaxError) {
        guard let context else { return }
        logger.debug("malformed request", metadata: ["reason": "\(error.reason)"])
        let status: HTTPResponseStatus = error.tooLarge ? .requestHeaderFieldsTooLarge : .badRequest
        if let exchange {
            if exchange.responseStarted {
                context.close(promise: nil)
            } else {
                respondLocal(exchange, status: status, reason: "malformed request", forceClose: true)
            }
        } else {
            let ex = Exchange(
                head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/"), runtime: loop.runtime, keepAlive: false)
            exchange = ex
            loop.statistics.inFlightRequests.wrappingAdd(1, ordering: .relaxed)
            respondLocal(ex, status: status, reason: "malformed request", forceClose: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadlineTimer()
        pipelined.removeAll()
        if let ex = exchange {
            ex.cancelTimers()
            detachUpstream(ex, reusable: false)
            endAdmission(ex)
            exchange = nil
            loop.statistics.inFlightRequests.wrappingSubtract(1, ordering: .relaxed)
        }
        loop.metrics.bytesIn.increment(by: Int64(guardHandler?.bytesReceived ?? 0))
        context.fireChannelInactive()
    }

    /// Graceful shutdown: close now if idle, else after the current response.
    func serverIsDraining() {
        guard !quiescing else { return }
        quiescing = true
        if exchange == nil { context?.close(promise: nil) }
    }

    // MARK: request side

    private func receiveHead(_ head: HTTPRequestHead) {
        guard exchange == nil else {
            // `channelRead` holds pipelined requests back until the exchange ends; a head here
            // would mean the decoder skipped an end.
            context?.close(promise: nil)
            return
        }
        let runtime = loop.runtime
        let configuration = runtime.configuration
        let ex = Exchange(head: head, runtime: runtime, keepAlive: head.isKeepAlive && !quiescing)
        exchange = ex
        loop.statistics.inFlightRequests.wrappingAdd(1, ordering: .relaxed)
        loop.signals.requestReceived()

        switch RequestValidation.validate(head, limits: configuration.limits) {
        case .failure(let failure):
            guardHandler?.headReceived(hasBody: false)
            respondLocal(ex, status: failure.status, reason: failure.reason, forceClose: true)
            return
        case .success(let framing):
            ex.framing = framing
            guardHandler?.headReceived(hasBody: framing != .none)
        }
        ex.requestDeadline = ex.startedAt + configuration.timeouts.request
        checkDeadlines(by: ex.requestDeadline)

        guard let entry = runtime.router.match(host: head.headers.first(name: "host"), path: head.uri) else {
            respondLocal(ex, status: .notFound, reason: "no route for this host and path")
            return
        }
        ex.entry = entry
        ex.routeName = entry.route.name
        ex.maxBodyBytes = entry.route.maxBodyBytes ?? configuration.limits.maxBodyBytes
        if case .contentLength(let length) = ex.framing, length > ex.maxBodyBytes {
            respondLocal(ex, status: .payloadTooLarge, reason: "request body too large", forceClose: true)
            return
        }

        let request = RequestContext(
            head: head, socketAddress: peer, proxyProtocolSource: proxyProtocolSource, routeName: entry.route.name,
            isTLS: tls?.isTLS == true, ja4: tls?.ja4, isCriticalRoute: entry.route.critical)
        switch runtime.filter.evaluate(request) {
        case .forward(let responseHeaders, let clientClass):
            if !responseHeaders.isEmpty { ex.extraResponseHeaders = responseHeaders.sendableFields() }
            ex.clientClass = clientClass
            forward(ex, insideClientRead: true)
        case .forwardAfter(let delay, let responseHeaders, let clientClass):
            ex.extraResponseHeaders = responseHeaders.sendableFields()
            ex.clientClass = clientClass
            ex.phase = .waiting
            ex.holdTimer = schedule(delay) {
                guard self.exchange === ex else { return }
                self.forward(ex)
            }
        case .respond(let response):
            respondLocal(ex, response: response)
        case .tarpit(let duration, let response):
            ex.phase = .waiting
            ex.holdTimer = schedule(duration) {
                guard self.exchange === ex else { return }
                self.respondLocal(ex, response: response)
            }
        case .close:
            finishWithoutResponse(ex)
        }
    }

    private func receiveBody(_ body: ByteBuffer) {
        guard let ex = exchange else { return }
        ex.bodyBytes += body.readableBytes
        if ex.bodyBytes > ex.maxBodyBytes {
            if ex.responseStarted {
                context?.close(promise: nil)
            } else {
                respondLocal(ex, status: .payloadTooLarge, reason: "request body too large", forceClose: true)
            }
            return
        }
        switch ex.phase {
        case .forwarding:
            ex.upstream?.send(.body(.byteBuffer(body)))
            upstreamNeedsFlush = true
        case .deciding, .waiting, .connecting:
            ex.buffered.append(.body(.byteBuffer(body)))
        case .responding:
            break
        }
    }

    private func receiveEnd(_ trailers: HTTPHeaders?) {
        guard let ex = exchange else { return }
        ex.requestEnded = true
        if ex.framing != .none { guardHandler?.bodyFinished() }
        switch ex.phase {
        case .forwarding:
            ex.upstream?.send(.end(trailers))
            upstreamNeedsFlush = true  // flushed in channelReadComplete, with the head if it came in the same read
            armResponseHeaderTimer(ex)
        case .deciding, .waiting, .connecting:
            ex.buffered.append(.end(trailers))
        case .responding:
            break
        }
    }

    /// Reads are held while a request body is still coming and there is no writable upstream.
    private var shouldHoldReads: Bool {
        if !pipelined.isEmpty { return true }  // bounded: at most what one read batch decoded
        guard let ex = exchange, !ex.requestEnded else { return false }
        if ex.phase == .forwarding, let upstream = ex.upstream, upstream.isWritable { return false }
        return true
    }

    private func resumeReadIfPossible() {
        guard pendingRead, !shouldHoldReads, let context else { return }
        pendingRead = false
        guardHandler?.setReadsHeldBack(false)
        context.read()
    }

    // MARK: upstream side

    private func forward(_ ex: Exchange, insideClientRead: Bool = false) {
        guard let entry = ex.entry else { return }
        if ex.admission == nil, let gate = entry.pool.concurrency, !admit(ex, at: gate) {
            return  // queued (`admissionDecided` forwards it later) or shed
        }
        let runtime = ex.runtime
        let forwarding = runtime.configuration.forwarding
        var expectsContinue = false
        ex.upstreamHead = UpstreamHandler.requestHeadBytes(method: ex.head.method, uri: ex.head.uri, into: recycledRequestHead()) {
            expectsContinue = ex.head.headers.writeUpstreamRequestFields(
                into: &$0, chunked: ex.framing == .chunked, emptyBody: ex.framing == .none, method: ex.head.method,
                hostRewrite: entry.hostRewrite, fallbackHost: entry.fallbackHost, clientIP: peerIP,
                xForwardedFor: forwarding.xForwardedFor, xForwardedProto: forwarding.xForwardedProto,
                scheme: tls?.isTLS == true ? "https" : "http", via: runtime.viaValue)
        }

        if expectsContinue && !ex.requestEnded && ex.framing != .none, let context {
            output.continueInterim(version: ex.head.version, context: context)
        }
        acquireUpstream(ex, insideClientRead: insideClientRead)
    }

    private func acquireUpstream(_ ex: Exchange, insideClientRead: Bool = false) {
        ex.phase = .connecting
        guard let pool = ex.entry?.pool, let backend = loop.pickBackend(pool, excluding: ex.backend) else {
            loop.signals.upstreamFailed()
            respondLocal(ex, status: .serviceUnavailable, reason: "no healthy upstream")
            return
        }
        ex.backend = backend
        ex.attempts += 1
        if let connection = loop.takeIdleConnection(to: backend) {
            attach(connection, to: ex, reused: true, insideClientRead: insideClientRead)
            return
        }
        let loop = self.loop
        loop.connect(to: backend, of: pool).assumeIsolated().whenComplete { result in
            guard self.exchange === ex, ex.phase == .connecting else {
                if case .success(let channel) = result { channel.close(promise: nil) }
                return
            }
            switch result {
            case .success(let channel):
                do {
                    self.attach(try loop.adopt(channel), to: ex, reused: false)
                } catch {
                    channel.close(promise: nil)
                    self.respondLocal(ex, status: .badGateway, reason: "upstream connection failed")
                }
            case .failure(let error):
                self.logger.debug("upstream connect failed", metadata: ["backend": "\(backend.address)", "error": "\(error)"])
                let configuration = pool.configuration
                backend.recordFailure(now: .now(), maxFailures: configuration.maxFailures, ejectionTime: configuration.ejectionTime)
                if ex.isIdempotent && ex.attempts <= configuration.maxRetries {
                    self.acquireUpstream(ex)
                } else {
                    loop.signals.upstreamFailed()
                    self.respondLocal(ex, status: .badGateway, reason: "upstream unreachable")
                }
            }
        }
    }

    /// - Parameter insideClientRead: the client's `channelReadComplete` will flush (so the head and
    ///   a body-less request's end go out in one write).
    private func attach(_ upstream: UpstreamHandler, to ex: Exchange, reused: Bool, insideClientRead: Bool = false) {
        guard let head = ex.upstreamHead else { return }
        ex.upstream = upstream
        ex.upstreamWasReused = reused
        ex.phase = .forwarding
        upstream.unpark(for: self)
        upstream.backend.requestStarted()
        upstream.sendHead(head, for: ex.head, chunkedBody: ex.framing == .chunked)
        if !ex.buffered.isEmpty {
            for part in ex.buffered { upstream.send(part) }
            ex.buffered.removeAll()
        }
        if insideClientRead {
            upstreamNeedsFlush = true
        } else {
            upstream.flush()
        }
        let sentAt = NIODeadline.now()
        ex.sentAt = sentAt
        if ex.requestEnded { armResponseHeaderTimer(ex, now: sentAt) }
        resumeReadIfPossible()
    }

    private func armResponseHeaderTimer(_ ex: Exchange, now: NIODeadline = .now()) {
        guard !ex.responseStarted, ex.headerDeadline == nil else { return }
        let deadline = now + ex.runtime.configuration.timeouts.responseHeader
        ex.headerDeadline = deadline
        checkDeadlines(by: deadline)
    }

    private func responseHeaderTimedOut(_ ex: Exchange) {
        guard exchange === ex, !ex.responseStarted else { return }
        ex.upstreamDropped = true
        if let backend = ex.backend, let pool = ex.entry?.pool.configuration {
            backend.recordFailure(now: .now(), maxFailures: pool.maxFailures, ejectionTime: pool.ejectionTime)
        }
        loop.signals.upstreamFailed()
        respondLocal(ex, status: .gatewayTimeout, reason: "upstream response timed out")
    }

    /// Makes sure the deadline timer fires no later than `deadline`.
    private func checkDeadlines(by deadline: NIODeadline) {
        if let streamDeadlines {
            streamDeadlines.require(by: deadline, for: self)
            return
        }
        // Checked before the closure is made: a later deadline (the usual case) allocates nothing.
        guard deadline < deadlineTimer.firesAt, let context else { return }
        deadlineTimer.arm(by: deadline, on: context.eventLoop) { self.deadlineTimerFired() }
    }

    private func deadlineTimerFired() {
        deadlineTimer.fired()
        guard let ex = exchange else { return }  // idle: the next request arms it again
        let headerDeadline = ex.responseStarted ? nil : ex.headerDeadline
        let now = NIODeadline.now()
        if let headerDeadline, headerDeadline <= now, headerDeadline <= ex.requestDeadline {
            responseHeaderTimedOut(ex)
        } else if ex.requestDeadline <= now {
            requestTimedOut(ex)
        } else if let headerDeadline, headerDeadline <= now {
            responseHeaderTimedOut(ex)
        } else {
            checkDeadlines(by: min(headerDeadline ?? .distantFuture, ex.requestDeadline))
        }
    }

    private func cancelDeadlineTimer() {
        deadlineTimer.cancel()
        streamDeadlines?.remove(self)
    }

    private func requestTimedOut(_ ex: Exchange) {
        guard exchange === ex else { return }
        if ex.responseStarted {
            context?.close(promise: nil)
        } else {
            respondLocal(ex, status: .gatewayTimeout, reason: "request timed out", forceClose: true)
        }
    }

    /// Ends the exchange's use of its upstream connection: back to the pool or closed.
    private func detachUpstream(_ ex: Exchange, reusable: Bool) {
        guard let upstream = ex.upstream else { return }
        ex.upstream = nil
        upstream.backend.requestFinished()
        if reusable, let pool = ex.entry?.pool {
            loop.release(upstream, maxIdle: pool.configuration.maxIdlePerLoop)
        } else {
            upstream.close()
        }
    }

    // MARK: concurrency gate (Shedding/)

    /// Asks the pool's gate for a slot. True: admitted, go on. False: queued (the gate resumes it
    /// through `admissionDecided`, or its timer sheds it) or shed here and now.
    private func admit(_ ex: Exchange, at gate: ConcurrencyGate<EventLoopWaiter>) -> Bool {
        guard let context else { return false }
        let eventLoop = context.eventLoop
        let admission = gate.admit(clientClass: ex.clientClass) {
            let bound = NIOLoopBound((self, ex), eventLoop: eventLoop)
            return EventLoopWaiter(eventLoop: eventLoop) { decision in
                let (handler, ex) = bound.value
                handler.admissionDecided(decision, for: ex, gate: gate)
            }
        }
        switch admission {
        case .admitted:
            ex.admission = .holding(gate)
            return true
        case .queued(let ticket):
            ex.admission = .queued(gate, ticket: ticket)
            ex.phase = .waiting
            ex.holdTimer = schedule(gate.configuration.queueTimeout) {
                guard self.exchange === ex, case .queued(_, let current) = ex.admission, current == ticket else { return }
                ex.holdTimer = nil
                // False: granted or evicted meanwhile, and `admissionDecided` is on its way.
                guard gate.withdraw(ticket: ticket, clientClass: ex.clientClass, timedOut: true) else { return }
                ex.admission = nil
                self.respondShed(ex, gate: gate, reason: .queueTimeout)
            }
            return false
        case .shed:
            respondShed(ex, gate: gate, reason: .concurrency)
            return false
        }
    }

    /// A queued exchange was granted a slot or evicted (on this connection's loop).
    private func admissionDecided(_ decision: AdmissionDecision, for ex: Exchange, gate: ConcurrencyGate<EventLoopWaiter>) {
        guard exchange === ex, case .queued = ex.admission else {
            // The exchange ended while the decision was on its way: give the slot back.
            if decision == .granted { gate.finish(rtt: nil, dropped: false) }
            return
        }
        ex.holdTimer?.cancel()
        ex.holdTimer = nil
        switch decision {
        case .granted:
            if let shed = ex.runtime.filter.shedAfterQueueing(
                clientClass: ex.clientClass, routeName: ex.routeName, isCriticalRoute: ex.entry?.route.critical ?? false,
                accept: ex.head.headers.first(name: "accept")) {
                // The tier rose while it waited: the slot goes to the next in line instead.
                gate.finish(rtt: nil, dropped: false)
                ex.admission = nil
                respondLocal(ex, response: shed)
                return
            }
            ex.admission = .holding(gate)
            forward(ex)
        case .evicted:
            ex.admission = nil
            respondShed(ex, gate: gate, reason: .concurrency)
        }
    }

    /// Leaves the gate when the exchange ends: a slot is finished (with the round-trip time when
    /// the upstream answered), a place in the queue is given up.
    private func endAdmission(_ ex: Exchange) {
        guard let admission = ex.admission else { return }
        ex.admission = nil
        switch admission {
        case .holding(let gate):
            gate.finish(rtt: ex.upstreamRTT, dropped: ex.upstreamDropped)
        case .queued(let gate, let ticket):
            _ = gate.withdraw(ticket: ticket, clientClass: ex.clientClass, timedOut: false)
        }
    }

    /// 503 with `Retry-After` for a request the gate shed.
    private func respondShed(_ ex: Exchange, gate: ConcurrencyGate<EventLoopWaiter>, reason: ConcurrencyShedReason) {
        let detail = reason == .queueTimeout
            ? "The upstream is busy and the request waited too long for it; retry later."
            : "The upstream is at its concurrency limit; retry later."
        let retryAfter = Duration.nanoseconds(gate.configuration.retryAfter.nanoseconds)
        respondLocal(ex, response: LocalResponse(RateLimitResponse.serviceUnavailable(
            retryAfter: retryAfter, accept: ex.head.headers.first(name: "accept"), detail: detail)))
    }

    // MARK: response side

    private func respondLocal(_ ex: Exchange, status: HTTPResponseStatus, reason: String, forceClose: Bool = false) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        let body = ByteBuffer(string: "\(status.code) \(status.reasonPhrase): \(reason)\n")
        respondLocal(ex, response: LocalResponse(status: status, headers: headers, body: body, close: forceClose))
    }

    private func respondLocal(_ ex: Exchange, response: LocalResponse) {
        guard let context, exchange === ex else { return }
        if ex.responseStarted {
            context.close(promise: nil)
            return
        }
        ex.cancelTimers()
        detachUpstream(ex, reusable: false)
        ex.phase = .responding
        ex.buffered.removeAll()
        if response.close || !ex.requestEnded && ex.framing != .none { ex.clientKeepAlive = false }
        // The pipeline has no outbound validator: the filter's fields are checked as they are written.
        let connection: String?
        if !ex.clientKeepAlive || quiescing {
            connection = "close"
        } else {
            connection = ex.head.version.minor == 0 ? "keep-alive" : nil
        }
        ex.responseStarted = true
        ex.status = response.status.code
        ex.responseBytes += output.local(
            response, version: ex.head.version, requestMethod: ex.head.method, connection: connection, context: context)
        finish(ex, trailers: nil)
    }

    private func finishWithoutResponse(_ ex: Exchange) {
        ex.cancelTimers()
        detachUpstream(ex, reusable: false)
        endAdmission(ex)
        exchange = nil
        loop.statistics.inFlightRequests.wrappingSubtract(1, ordering: .relaxed)
        context?.close(promise: nil)
    }

    /// Writes the end of the response and either closes or gets ready for the next request.
    private func finish(_ ex: Exchange, trailers: HTTPHeaders?) {
        guard let context else { return }
        // The upstream wrote this head before it answered: kept for the next request's head.
        if let head = ex.upstreamHead, head.capacity <= ResponseOutput.spareLimit { requestHeadSpare = head }
        ex.upstreamHead = nil
        ex.cancelTimers()
        endAdmission(ex)
        exchange = nil
        let statistics = loop.statistics
        statistics.inFlightRequests.wrappingSubtract(1, ordering: .relaxed)
        statistics.completedRequests.wrappingAdd(1, ordering: .relaxed)
        loop.countRequest(route: ex.routeName, status: ex.status)
        if ex.responseBytes > 0 { loop.metrics.bytesOut.increment(by: Int64(ex.responseBytes)) }
        if let accessLogger { accessLogger.log(accessLogEntry(ex)) }
        // A body-less request is complete with its head (its `.end` may still be on the way).
        let close = !ex.clientKeepAlive || (!ex.requestEnded && ex.framing != .none) || quiescing
        clientNeedsFlush = false  // the end is written with a flush: one flush per response
        if close {
            let written = context.eventLoop.makePromise(of: Void.self)
            output.end(trailers, context: context, promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            guardHandler?.readyForNextRequest()
            output.end(trailers, context: context, promise: nil)
            deliverPipelined()
        }
    }

    /// The access log's view of a completed exchange (built only when an access log is configured).
    private func accessLogEntry(_ ex: Exchange) -> AccessLogEntry {
        let duration = Double((NIODeadline.now() - ex.startedAt).nanoseconds) / 1e9
        let headers = ex.head.headers
        return AccessLogEntry(
            time: Date().timeIntervalSince1970 - duration,
            client: proxyProtocolSource?.ipAddress ?? peerIP ?? "-",
            method: ex.head.method.rawValue, uri: ex.head.uri, host: headers.first(name: "host"),
            route: ex.entry == nil ? "" : ex.routeName,
            upstream: ex.answeredByUpstream ? ex.backend?.address.description : nil,
            status: Int(ex.status), bytesIn: ex.bodyBytes, bytesOut: ex.responseBytes, duration: duration,
            userAgent: headers.first(name: "user-agent"))
    }

    /// The tasks scheduled here and the deadline timer hold this handler strongly until they fire
    /// or are cancelled (the exchange's and the connection's end cancel them): no weak captures,
    /// which would move the handler's reference count to a side table and slow every retain.
    /// The last request head's buffer, emptied, if nothing else holds it any more (else nil).
    private func recycledRequestHead() -> ByteBuffer? {
        guard var buffer = requestHeadSpare else { return nil }
        requestHeadSpare = nil  // this copy is now the only reference unless the channel kept one
        buffer.clear(minimumCapacity: 512)
        return buffer
    }

    private func schedule(_ delay: TimeAmount, _ task: @escaping () -> Void) -> Scheduled<Void>? {
        guard let context else { return nil }
        return context.eventLoop.assumeIsolated().scheduleTask(in: delay, task)
    }
}

extension ProxyConnectionHandler: UpstreamDelegate {
    var downstreamIsWritable: Bool { context?.channel.isWritable ?? true }

    func upstreamResponseHead(_ head: UpstreamResponseHead, from upstream: UpstreamHandler) {
        guard let context, let ex = exchange, ex.upstream === upstream else {
            upstream.close()
            return
        }
        // Interim responses (1xx) never get here: the parser skips them (the proxy answers 100 itself).
        let code = head.status.code
        ex.headerDeadline = nil
        upstream.backend.recordSuccess()
        if let sentAt = ex.sentAt {
            // One measurement feeds the latency histogram, the tier signals and the concurrency limit.
            let rtt = (NIODeadline.now() - sentAt).nanoseconds
            loop.metrics.upstreamLatency.recordNanoseconds(rtt)
            loop.signals.upstreamResponded(nanoseconds: rtt, failed: code >= 500)
            ex.upstreamRTT = UInt64(max(0, rtt))
        }
        ex.answeredByUpstream = true
        ex.responseStarted = true
        ex.status = code
        let bodyAllowed = ex.head.method != .HEAD && code != 204 && code != 304
        let closing = quiescing
        output.proxiedHead(
            head, version: ex.head.version, requestMethod: ex.head.method, extra: ex.extraResponseHeaders,
            via: ex.runtime.viaValue,
            connection: { hasContentLength in
                if ex.head.version.minor == 0 && bodyAllowed && !hasContentLength {
                    // An HTTP/1.0 client cannot read chunked framing: the body ends with the connection.
                    ex.clientKeepAlive = false
                }
                if !ex.clientKeepAlive || closing { return "close" }
                return ex.head.version.minor == 0 ? "keep-alive" : nil
            }, context: context)
        clientNeedsFlush = true
    }

    func upstreamResponseBody(_ body: ByteBuffer, from upstream: UpstreamHandler) {
        guard let context, let ex = exchange, ex.upstream === upstream, ex.responseStarted else { return }
        ex.responseBytes += body.readableBytes
        output.body(body, context: context)
        clientNeedsFlush = true
    }

    func upstreamReadComplete(from upstream: UpstreamHandler) {
        guard clientNeedsFlush else { return }
        clientNeedsFlush = false
        if let context { output.flush(context) }
    }

    func upstreamResponseEnd(_ trailers: HTTPHeaders?, reusable: Bool, from upstream: UpstreamHandler) {
        guard let ex = exchange, ex.upstream === upstream, ex.responseStarted else { return }
        detachUpstream(ex, reusable: (ex.requestEnded || ex.framing == .none) && reusable)
        finish(ex, trailers: trailers)
    }

    func upstreamFailed(_ error: (any Error)?, from upstream: UpstreamHandler) {
        guard let ex = exchange, ex.upstream === upstream else { return }
        ex.upstream = nil
        upstream.backend.requestFinished()
        if ex.responseStarted {
            // Mid-response: the client cannot be told otherwise.
            context?.close(promise: nil)
            return
        }
        ex.headerDeadline = nil
        let pool = ex.entry?.pool.configuration
        // A kept-alive connection the backend closed just as it was reused: nothing of a
        // body-less idempotent request was processed, so try a fresh connection.
        if ex.upstreamWasReused, ex.framing == .none, ex.isIdempotent, let pool, ex.attempts <= pool.maxRetries + 1 {
            ex.phase = .connecting
            ex.buffered = ex.requestEnded ? [.end(nil)] : []
            ex.attempts -= 1  // bounded: each retry consumes one idle connection, then dials fresh
            ex.backend = nil
            acquireUpstream(ex)
            return
        }
        if let pool {
            upstream.backend.recordFailure(now: .now(), maxFailures: pool.maxFailures, ejectionTime: pool.ejectionTime)
        }
        ex.upstreamDropped = true
        loop.signals.upstreamFailed()
        if let error, UpstreamTLSContext.isTLSError(error) {
            // A certificate the proxy does not trust is a configuration problem: say so loudly.
            logger.warning("upstream TLS failed", metadata: ["backend": "\(upstream.backend.address)", "error": "\(error)"])
            respondLocal(ex, status: .badGateway, reason: "upstream TLS handshake failed")
            return
        }
        respondLocal(ex, status: .badGateway, reason: "upstream closed the connection")
    }

    func upstreamWritabilityChanged(from upstream: UpstreamHandler) {
        resumeReadIfPossible()
    }
}

extension ProxyConnectionHandler: StreamDeadlineOwner {
    func streamDeadlinePassed() { deadlineTimerFired() }
}

@available(*, unavailable)
extension ProxyConnectionHandler: Sendable {}
