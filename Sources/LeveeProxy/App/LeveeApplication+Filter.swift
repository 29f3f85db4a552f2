import Foundation
import Levee
import Logging
import NIOCore
import NIOHTTP1

/// The flood filter's admin endpoints, `/status` section and `/metrics` families. Every handler
/// reads `self.filter` when it runs, so after a reload it sees the new filter (the ban list itself
/// is carried from one filter to the next; counters and top talkers start again).
extension LeveeApplication {
    /// The flood filter serving now, or nil when the configuration has no filter settings.
    var floodFilter: FloodFilter? { filter as? FloodFilter }

    /// Closes the Redis connection of the global rules (at shutdown).
    func closeFleet() async {
        await floodFilter?.fleet?.close()
    }

    /// The Prometheus families of the current filter ("" without one).
    @Sendable func filterMetricsText() -> String {
        floodFilter?.statistics(topTalkers: 0).prometheusText ?? ""
    }

    func registerFilterEndpoints() {
        addStatusSection("filter") { [weak self] in
            guard let filter = self?.floodFilter else { return FilterOff() }
            return filter.statistics(topTalkers: 10)
        }
        adminRouter.add(.GET, "/admin/top") { [weak self] request in
            guard let filter = self?.floodFilter else { return Self.filterOff }
            guard let count = Self.count(request.query["limit"], default: 10, max: 1000) else {
                return .error(.badRequest, "limit must be a whole number from 1 to 1000")
            }
            return Self.rawJSON("{\"top_talkers\":" + FilterStatistics.json(filter.topTalkers(count)) + "}")
        }
        adminRouter.add(.DELETE, "/admin/top", requiresToken: true) { [weak self] _ in
            guard let filter = self?.floodFilter else { return Self.filterOff }
            filter.resetTopTalkers()
            return Self.rawJSON("{\"top_talkers\":[]}")
        }
        adminRouter.add(.GET, "/admin/bans") { [weak self] _ in
            guard let filter = self?.floodFilter else { return Self.filterOff }
            let now = filter.now
            return Self.rawJSON("{\"bans\":[" + filter.activeBans().map { $0.json(at: now) }.joined(separator: ",") + "]}")
        }
        adminRouter.add(.POST, "/admin/bans", requiresToken: true) { [weak self] request in
            guard let filter = self?.floodFilter else { return Self.filterOff }
            let order: BanOrder
            switch BanOrder.parse(request) {
            case .success(let parsed): order = parsed
            case .failure(let problem): return .error(.badRequest, problem.message)
            }
            let ban = filter.ban(order.network, duration: order.duration, reason: order.reason)
            self?.logAdmin("ban added", ["network": "\(ban.network)", "seconds": "\(order.duration.components.seconds)"])
            return Self.rawJSON(ban.json(at: filter.now), status: .created)
        }
        adminRouter.add(.DELETE, prefix: "/admin/bans/", requiresToken: true) { [weak self] request in
            guard let filter = self?.floodFilter else { return Self.filterOff }
            let text = request.pathRemainder(after: "/admin/bans/") ?? ""
            guard let network = CIDR(text) else {
                return .error(.badRequest, "not an address or network: \"\(text)\" (e.g. 203.0.113.5, 10.0.0.0/8, 2001:db8::/64)")
            }
            guard filter.unban(network) else { return .error(.notFound, "no active ban on \(network)") }
            self?.logAdmin("ban lifted", ["network": "\(network)"])
            return Self.rawJSON("{\"removed\":" + RateLimitResponse.jsonString(network.description) + "}")
        }
    }

    private func logAdmin(_ message: String, _ metadata: [String: String]) {
        adminLogger.notice("\(message)", metadata: metadata.mapValues { .string($0) })
    }

    private static let filterOff = AdminResponse.error(
        .notFound, "the flood filter is off: the configuration has no [[rule]] (or serve --limit)")

    private static func rawJSON(_ json: String, status: HTTPResponseStatus = .ok) -> AdminResponse {
        AdminResponse(status: status, contentType: "application/json", body: ByteBuffer(string: json + "\n"))
    }

    /// `text` as a count in 1...max (nil text: `default`; nil result: malformed).
    static func count(_ text: String?, default value: Int, max: Int) -> Int? {
        guard let text else { return value }
        guard let n = Int(text), n >= 1, n <= max else { return nil }
        return n
    }

    /// What `/status` shows when there is no flood filter.
    struct FilterOff: Encodable, Sendable { var enabled = false }
}

/// A `POST /admin/bans` order: a JSON body `{"address": "203.0.113.5" | "10.0.0.0/8",
/// "duration": "10m", "reason": "..."}` or the same names as query parameters.
struct BanOrder: Sendable {
    /// The longest ban the API grants (a typo such as "1000d" should not ban for years).
    static let maxDuration: Duration = .seconds(30 * 86_400)

    var network: CIDR
    var duration: Duration
    var reason: String

    struct Problem: Error { var message: String }

    static func parse(_ request: AdminRequest) -> Result<BanOrder, Problem> {
        var fields = request.query
        if request.body.readableBytes > 0 {
            let data = Data(request.body.readableBytesView)
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                return .failure(Problem(message: "the body must be a JSON object like {\"address\": \"203.0.113.5\", \"duration\": \"10m\"}"))
            }
            for (name, value) in object {
                if let text = value as? String { fields[name] = text } else if let number = value as? NSNumber { fields[name] = number.stringValue }
            }
        }
        guard let address = fields["address"] ?? fields["network"] else {
            return .failure(Problem(message: "missing \"address\" (an address or CIDR network)"))
        }
        guard let network = CIDR(address) else {
            return .failure(Problem(message: "not an address or network: \"\(address)\" (e.g. 203.0.113.5, 10.0.0.0/8, 2001:db8::/64)"))
        }
        guard let durationText = fields["duration"] else {
            return .failure(Problem(message: "missing \"duration\" (e.g. \"10m\", \"1h\")"))
        }
        // A bare number is seconds (what an operator means by `"duration": 600`).
        let amount = Int64(durationText).map { TimeAmount.seconds($0) } ?? ConfigurationUnits.parseDuration(durationText)
        guard let amount, amount.nanoseconds > 0 else {
            return .failure(Problem(message: "duration \"\(durationText)\" is not a positive duration (e.g. \"90s\", \"10m\", \"1h\")"))
        }
        let duration = Duration.nanoseconds(amount.nanoseconds)
        guard duration <= maxDuration else {
            return .failure(Problem(message: "duration \"\(durationText)\" is longer than the 30 days the API allows"))
        }
        return .success(BanOrder(network: network, duration: duration, reason: fields["reason"] ?? "admin API"))
    }
}
