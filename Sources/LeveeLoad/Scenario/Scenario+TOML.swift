import NIOCore
import TOMLKit

extension Scenario {
    /// Keys allowed at the top of a scenario file.
    static let topKeys: Set<String> = [
        "target", "duration", "threads", "timeout", "max_requests", "thresholds", "class", "http2", "streams",
    ]
    /// Keys allowed in a `[[class]]` table.
    static let classKeys: Set<String> = [
        "name", "rate", "connections", "paths", "random_paths", "methods", "method", "headers", "body",
        "header_count", "header_bytes", "source", "announce", "announce_per", "identity", "start", "stop", "wave_on", "wave_off",
        "new_connection", "expect", "profile", "trickle_interval", "hold", "read_interval", "read_size",
        "pcap", "speed", "pcap_port", "max_requests",
    ]

    /// Reads a scenario from TOML text. Command-line values (target, duration, threads) override the file's
    /// when given. Errors name the field (and the line, for syntax errors).
    public init(toml text: String, target overrideTarget: LoadTarget? = nil, duration overrideDuration: Int64? = nil,
                threads overrideThreads: Int? = nil) throws(LoadError) {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .invalidScenario("line \(error.source.begin.line): \(error.description)")
        } catch {
            throw .invalidScenario("\(error)")
        }
        for key in table.keys where !Self.topKeys.contains(key) {
            throw .invalidScenario("unknown key \"\(key)\" (known: \(Self.topKeys.sorted().joined(separator: ", ")))")
        }
        let target: LoadTarget
        if let t = overrideTarget {
            target = t
        } else if let url = table["target"]?.string {
            target = try LoadTarget(url: url)
        } else {
            throw .invalidScenario("missing target = \"http://127.0.0.1:PORT/\"")
        }
        let fileDuration = try Self.duration(table["duration"], field: "duration")
        let duration = overrideDuration ?? fileDuration ?? 10_000_000_000
        let fileThreads = try Self.int(table["threads"], field: "threads")
        let threads = overrideThreads ?? fileThreads ?? System.coreCount
        let timeout = try Self.duration(table["timeout"], field: "timeout") ?? 5_000_000_000
        let maxRequests = try Self.int(table["max_requests"], field: "max_requests")
        let http2 = try Self.bool(table["http2"], field: "http2") ?? false
        let streams = try Self.int(table["streams"], field: "streams") ?? 1
        var thresholds: [Threshold] = []
        if let raw = table["thresholds"] {
            guard let list = raw.array else { throw .invalidScenario("thresholds must be a list of strings") }
            for item in list {
                guard let s = item.string else { throw .invalidScenario("thresholds must be a list of strings") }
                thresholds.append(try Threshold(s))
            }
        }
        guard let classList = table["class"]?.array, !classList.isEmpty else {
            throw .invalidScenario("no [[class]] table")
        }
        var classes: [TrafficClass] = []
        for (i, item) in classList.enumerated() {
            guard let t = item.table else { throw .invalidScenario("class #\(i + 1) must be a table") }
            classes.append(try Self.trafficClass(t, index: i))
        }
        self.init(target: target, duration: duration, threads: threads, timeout: timeout, maxRequests: maxRequests,
                  classes: classes, thresholds: thresholds, http2: http2, streams: streams)
        try validate()
    }

    static func trafficClass(_ t: TOMLTable, index: Int) throws(LoadError) -> TrafficClass {
        let name = t["name"]?.string ?? "class\(index + 1)"
        func field(_ key: String) -> String { "class \(name): \(key)" }
        for key in t.keys where !classKeys.contains(key) {
            throw .invalidScenario("\(field(key)) is not a known key (known: \(classKeys.sorted().joined(separator: ", ")))")
        }
        var c = TrafficClass(name: name)
        c.rate = try number(t["rate"], field: field("rate"))
        c.connections = try int(t["connections"], field: field("connections")) ?? (c.rate == nil ? 1 : 8)
        if let p = try strings(t["paths"], field: field("paths")) { c.paths = p }
        if t["paths"]?.string == "random" { c.randomPaths = true }
        c.randomPaths = try bool(t["random_paths"], field: field("random_paths")) ?? c.randomPaths
        if let m = try strings(t["methods"] ?? t["method"], field: field("methods")) { c.methods = m.map { $0.uppercased() } }
        if let h = t["headers"] {
            guard let ht = h.table else { throw .invalidScenario("\(field("headers")) must be a table of strings") }
            for key in ht.keys.sorted() {
                guard let v = ht[key]?.string else { throw .invalidScenario("\(field("headers")).\(key) must be a string") }
                c.headers.append((key, v))
            }
        }
        if let b = t["body"] {
            guard let s = b.string else { throw .invalidScenario("\(field("body")) must be a string") }
            c.body = s
        }
        c.extraHeaderCount = try int(t["header_count"], field: field("header_count")) ?? 0
        c.oversizedHeaderBytes = try int(t["header_bytes"], field: field("header_bytes")) ?? 0
        if let s = t["source"] {
            guard let text = s.string else { throw .invalidScenario("\(field("source")) must be a string like 127.1.0.0/16") }
            c.source = try SourceAddressRange(text)
        }
        if let a = t["announce"] {
            guard let text = a.string else { throw .invalidScenario("\(field("announce")) must be a string like 2001:db8::/48") }
            c.announce = try AnnouncedAddressRange(text, per: try int(t["announce_per"], field: field("announce_per")))
        } else if t["announce_per"] != nil {
            throw .invalidScenario("\(field("announce_per")) needs announce")
        }
        if let i = t["identity"] {
            guard let text = i.string, let id = TrafficClass.Identity(rawValue: text.lowercased()) else {
                throw .invalidScenario("\(field("identity")) must be one of \(TrafficClass.Identity.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.identity = id
        }
        c.start = try duration(t["start"], field: field("start")) ?? 0
        c.stop = try duration(t["stop"], field: field("stop"))
        c.waveOn = try duration(t["wave_on"], field: field("wave_on"))
        c.waveOff = try duration(t["wave_off"], field: field("wave_off"))
        c.newConnectionPerRequest = try bool(t["new_connection"], field: field("new_connection")) ?? false
        if let e = t["expect"] {
            guard let text = e.string, let ex = TrafficClass.Expectation(rawValue: text.lowercased()) else {
                throw .invalidScenario("\(field("expect")) must be \"served\", \"blocked\" or \"any\"")
            }
            c.expect = ex
        }
        c.maxRequests = try int(t["max_requests"], field: field("max_requests"))
        let profile = t["profile"]?.string?.lowercased() ?? "normal"
        switch profile {
        case "normal", "flood", "burst", "random-paths", "headers":
            if profile == "random-paths" { c.randomPaths = true }
            c.profile = .normal
        case "slowloris":
            c.profile = .slowloris(
                interval: try duration(t["trickle_interval"], field: field("trickle_interval")) ?? 1_000_000_000,
                hold: try duration(t["hold"], field: field("hold")) ?? 10_000_000_000)
        case "slow-read":
            c.profile = .slowRead(
                interval: try duration(t["read_interval"], field: field("read_interval")) ?? 1_000_000_000,
                readSize: try int(t["read_size"], field: field("read_size")) ?? 64)
        case "pcap":
            guard let file = t["pcap"]?.string else { throw .invalidScenario("\(field("pcap")): profile pcap needs pcap = \"FILE\"") }
            c.profile = .pcapReplay(file: file, speed: try number(t["speed"], field: field("speed")) ?? 1,
                                    port: try int(t["pcap_port"], field: field("pcap_port")))
        default:
            throw .invalidScenario("\(field("profile")) must be normal, flood, burst, random-paths, headers, slowloris, slow-read or pcap")
        }
        return c
    }

    static func duration(_ v: TOMLValueConvertible?, field: String) throws(LoadError) -> Int64? {
        guard let v else { return nil }
        if let s = v.string, let ns = DurationParser.nanoseconds(s) { return ns }
        if let i = v.int, i >= 0 { return Int64(i) * 1_000_000_000 }
        if let d = v.double, d >= 0 { return Int64(d * 1e9) }
        throw .invalidScenario("\(field) must be a duration like \"30s\" or \"500ms\"")
    }

    static func int(_ v: TOMLValueConvertible?, field: String) throws(LoadError) -> Int? {
        guard let v else { return nil }
        guard let i = v.int, i >= 0 else { throw .invalidScenario("\(field) must be a non-negative integer") }
        return i
    }

    static func number(_ v: TOMLValueConvertible?, field: String) throws(LoadError) -> Double? {
        guard let v else { return nil }
        if let i = v.int { return Double(i) }
        if let d = v.double { return d }
        throw .invalidScenario("\(field) must be a number")
    }

    static func bool(_ v: TOMLValueConvertible?, field: String) throws(LoadError) -> Bool? {
        guard let v else { return nil }
        guard let b = v.bool else { throw .invalidScenario("\(field) must be true or false") }
        return b
    }

    static func strings(_ v: TOMLValueConvertible?, field: String) throws(LoadError) -> [String]? {
        guard let v else { return nil }
        if let s = v.string { return s == "random" ? nil : [s] }
        guard let a = v.array else { throw .invalidScenario("\(field) must be a string or a list of strings") }
        var out: [String] = []
        for item in a {
            guard let s = item.string else { throw .invalidScenario("\(field) must be a list of strings") }
            out.append(s)
        }
        return out.isEmpty ? nil : out
    }
}
