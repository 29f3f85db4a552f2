import ArgumentParser
import LeveeLoad

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `levee load`: load and attack generator. Quick form for one URL, or a scenario file of traffic classes.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Generate load (open or closed loop) and attacks against a loopback target, report per traffic class.",
        discussion: """
        Quick form: levee load http://127.0.0.1:8080/ --rate 5000 --duration 30s --connections 64 \
        (without --rate the loop is closed: every connection sends as soon as it has its answer).

        HTTP/2: levee load https://127.0.0.1:8443/ --http2 --streams 8 (each connection is one HTTP/2 \
        connection with up to 8 requests in flight; https:// only).

        Full form: levee load scenario.toml (traffic classes, attacks, thresholds: see docs/load-testing.md).

        Exits 99 when a threshold fails. Targets outside 127.0.0.0/8, ::1 and localhost are refused \
        unless --allow-remote is given.
        """
    )

    @Argument(help: "An http:// or https:// URL (quick form) or a scenario .toml file.")
    var target: String

    @Option(help: "Requests per second (open loop, latency corrected for coordinated omission). Omit for closed loop.")
    var rate: Double?

    @Option(help: "Run length: 30s, 500ms, 2m … (overrides the scenario's).")
    var duration: String?

    @Option(help: "Connections (simulated clients) in the quick form.")
    var connections: Int = 10

    @Option(help: "Event loop threads (default: one per core).")
    var threads: Int?

    @Option(name: .customLong("max-requests"), help: "Stop after this many requests in total.")
    var maxRequests: Int?

    @Option(help: "Request timeout (default 5s).")
    var timeout: String?

    @Option(help: "HTTP method (quick form).")
    var method: String = "GET"

    @Option(name: [.customShort("H"), .long], help: "Extra request header \"Name: value\" (repeatable, quick form).")
    var header: [String] = []

    @Option(help: "Request body (quick form).")
    var body: String?

    @Option(help: "Bind connections to source addresses from this range in 127.0.0.0/8 (e.g. 127.1.0.0/16).")
    var source: String?

    @Flag(help: "Speak HTTP/2 (ALPN h2) to an https:// target; fails if the server does not select h2. Also `http2 = true` in a scenario.")
    var http2 = false

    @Option(help: "With --http2: concurrent requests (streams) per connection (default 1; also `streams = K` in a scenario).")
    var streams: Int?

    @Flag(name: .customLong("new-connection"), help: "One request per connection (Connection: close), to measure new connections per second.")
    var newConnection = false

    @Flag(help: "Print the report as one JSON object on standard output.")
    var json = false

    @Option(help: "Also write an HTML report with inline SVG plots to this file.")
    var html: String?

    @Flag(help: "No live progress line on standard error.")
    var quiet = false

    @Flag(name: .customLong("allow-remote"), help: "Allow a target outside loopback. Only against systems you are allowed to test.")
    var allowRemote = false

    func scenario() throws -> Scenario {
        let durationNs = try duration.map { d -> Int64 in
            guard let ns = DurationParser.nanoseconds(d), ns > 0 else { throw ValidationError("bad --duration \(d)") }
            return ns
        }
        if target.lowercased().hasPrefix("http://") || target.lowercased().hasPrefix("https://") {
            let url = try LoadTarget(url: target)
            var c = TrafficClass(name: "default")
            c.rate = rate
            c.connections = connections
            c.paths = [url.path]
            c.methods = [method.uppercased()]
            for h in header {
                guard let colon = h.firstIndex(of: ":") else { throw ValidationError("header \"\(h)\" must be \"Name: value\"") }
                c.headers.append((String(h[..<colon]), String(h[h.index(after: colon)...]).trimmingLeadingSpaces()))
            }
            c.body = body
            c.newConnectionPerRequest = newConnection
            c.source = try source.map { try SourceAddressRange($0) }
            var s = Scenario(target: url, duration: durationNs ?? 10_000_000_000, classes: [c])
            if let threads { s.threads = threads }
            s.maxRequests = maxRequests
            s.http2 = http2
            if let streams { s.streams = streams }
            if let timeout {
                guard let ns = DurationParser.nanoseconds(timeout), ns > 0 else { throw ValidationError("bad --timeout \(timeout)") }
                s.timeout = ns
            }
            return s
        }
        let text: String
        do {
            text = try readFile(target)
        } catch {
            throw ValidationError("cannot read scenario \(target): \(error)")
        }
        var s = try Scenario(toml: text, duration: durationNs, threads: threads)
        if let maxRequests { s.maxRequests = maxRequests }
        if let timeout, let ns = DurationParser.nanoseconds(timeout) { s.timeout = ns }
        if http2 { s.http2 = true }
        if let streams { s.streams = streams }
        try s.validate()
        return s
    }

    func run() async throws {
        let scenario = try scenario()
        let engine = LoadEngine(scenario: scenario, allowRemote: allowRemote)
        let live = !quiet && isatty(STDERR_FILENO) == 1
        let previous = ProgressState()
        var onProgress: (@Sendable (LoadEngine.Progress) -> Void)?
        if live {
            onProgress = { (p: LoadEngine.Progress) in
                let before: Int = previous.swap(p.completed)
                let line: String = p.line(previousCompleted: before)
                FileOutput.standardError("\r\u{1B}[2K" + line)
            }
        }
        let report = try await engine.run(progress: onProgress)
        if live { FileOutput.standardError("\r\u{1B}[2K") }
        if let html {
            try FileOutput.write(report.html, to: html)
        }
        if json {
            print(report.jsonString)
        } else {
            print(report.text, terminator: "")
        }
        if !report.passed { throw ExitCode(99) }
    }
}

extension String {
    func trimmingLeadingSpaces() -> String { String(drop { $0 == " " }) }
}
