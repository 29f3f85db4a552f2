import Foundation
import Levee
import TOMLKit

extension FilterConfiguration {
    /// Decodes the `[filter]` table (with `[filter.challenge]` and `[filter.ban]`) and the
    /// `[[rule]]` array from a parsed file. Every problem is appended to `errors` as a
    /// `ConfigurationError` naming the field (`rule[2].action`) and its line via `lineOf`; the
    /// returned value is only meaningful when no errors were added. The schema is in docs/filter.md.
    /// `environment` supplies `[fleet] password_env`.
    public static func decode(
        from root: TOMLTable, file: String, lineOf: (String) -> Int?, errors: inout [ConfigurationError],
        environment: [String: String] = [:]
    ) -> FilterConfiguration {
        // The readers keep `lineOf` only for the duration of this call.
        withoutActuallyEscaping(lineOf) { lineOf in
            decode(root: root, file: file, lineOf: lineOf, errors: &errors, environment: environment)
        }
    }

    private static func decode(
        root: TOMLTable, file: String, lineOf: @escaping (String) -> Int?, errors: inout [ConfigurationError],
        environment: [String: String]
    ) -> FilterConfiguration {
        var configuration = FilterConfiguration()
        var top = FilterConfigurationReader(table: root, path: "", file: file, lineOf: lineOf)

        if var filter = top.table("filter", &errors) {
            if let v = filter.networks("trusted_proxies", &errors) { configuration.trustedProxies = v }
            if let v = filter.string("client_header", &errors) {
                if let h = ForwardingHeader(rawValue: v.lowercased()) { configuration.clientHeader = h }
                else { errors.append(filter.error("client_header", "\"\(v)\" is not one of x-forwarded-for, forwarded, none")) }
            }
            if let v = filter.networks("trusted", &errors) { configuration.classes.trustedNetworks = v }
            if let v = filter.strings("trusted_tokens", &errors) { configuration.classes.trustedTokens = v.filter { !$0.isEmpty } }
            if let v = filter.string("trusted_token_header", &errors) { configuration.classes.trustedTokenHeader = v }
            if let v = filter.networks("known", &errors) { configuration.classes.knownNetworks = v }
            if let v = filter.strings("known_cookies", &errors) { configuration.classes.knownCookies = v }
            if let v = filter.strings("known_headers", &errors) { configuration.classes.knownHeaders = v }
            if let v = filter.duration("suspicious_for", &errors) { configuration.classes.suspiciousFor = v }
            if let v = filter.int("table_capacity", &errors) {
                if v >= 16 && v <= 1 << 26 { configuration.tableCapacity = v }
                else { errors.append(filter.error("table_capacity", "must be between 16 and 67108864")) }
            }
            if let v = filter.int("top_talkers", &errors) {
                if v >= 1 && v <= 10_000 { configuration.topTalkers = v }
                else { errors.append(filter.error("top_talkers", "must be between 1 and 10000")) }
            }
            if var challenge = filter.table("challenge", &errors) {
                decodeChallenge(&challenge, into: &configuration.challenge, &errors)
                challenge.finish(&errors)
            }
            if var ban = filter.table("ban", &errors) {
                decodeBan(&ban, into: &configuration.bans, &errors)
                ban.finish(&errors)
            }
            filter.finish(&errors)
        }

        if var fleet = top.table("fleet", &errors) {
            configuration.fleet = decodeFleet(&fleet, environment: environment, &errors)
            fleet.finish(&errors)
        }

        if top.has("rule"), let value = root["rule"] {
            guard let array = value.array else {
                errors.append(top.error("rule", "expected an array of tables ([[rule]])"))
                return configuration
            }
            var names: Set<String> = []
            for (index, element) in array.enumerated() {
                let path = "rule[\(index)]"
                guard let table = element.table else {
                    errors.append(ConfigurationError(file: file, line: lineOf(path), field: path, message: "expected a table"))
                    continue
                }
                var reader = FilterConfigurationReader(table: table, path: path, file: file, lineOf: lineOf)
                if let rule = decodeRule(&reader, &errors) {
                    if names.contains(rule.name) {
                        errors.append(reader.error("name", "another rule is already named \"\(rule.name)\""))
                    }
                    names.insert(rule.name)
                    if rule.scope.isGlobal, configuration.fleet == nil {
                        errors.append(reader.error("scope", "scope = \"global\" needs a [fleet] table saying where Redis is (e.g. [fleet] redis = \"127.0.0.1:6379\")"))
                    }
                    configuration.rules.append(rule)
                }
                reader.finish(&errors)
            }
        }
        return configuration
    }

    private static func decodeChallenge(_ r: inout FilterConfigurationReader, into s: inout ChallengeSettings, _ errors: inout [ConfigurationError]) {
        if let v = r.int("difficulty", &errors) {
            if (1...32).contains(v) { s.difficulty = v } else { errors.append(r.error("difficulty", "must be between 1 and 32 bits")) }
        }
        if let v = r.duration("lifetime", &errors) { s.clearanceLifetime = v }
        if let v = r.duration("challenge_lifetime", &errors) { s.challengeLifetime = v }
        if let v = r.string("cookie", &errors) {
            if !v.isEmpty, v.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !";,=\"".utf8.contains($0) }) { s.cookieName = v }
            else { errors.append(r.error("cookie", "\"\(v)\" is not a valid cookie name")) }
        }
        if let v = r.string("path", &errors) {
            if v.hasPrefix("/") && !v.contains("?") { s.verifyPath = v } else { errors.append(r.error("path", "must be a path starting with /")) }
        }
        if let v = r.string("key", &errors) {
            if let bytes = HMACSHA256.unhex(v), bytes.count >= 16 { s.key = bytes }
            else { errors.append(r.error("key", "must be at least 32 hex digits (16 bytes); leave it out to generate one at start")) }
        }
        if let v = r.bool("secure_cookie", &errors) { s.secureCookie = v }
    }

    private static func decodeBan(_ r: inout FilterConfigurationReader, into s: inout BanSettings, _ errors: inout [ConfigurationError]) {
        if let v = r.bool("enabled", &errors) { s.enabled = v }
        if let list = r.strings("ladder", &errors) {
            var ladder: [Duration] = []
            for (i, text) in list.enumerated() {
                if let d = FilterConfigurationReader.parseDuration(text), d > .zero { ladder.append(d) }
                else { errors.append(r.error("ladder[\(i)]", "\"\(text)\" is not a positive duration")) }
            }
            if list.isEmpty { errors.append(r.error("ladder", "needs at least one duration")) }
            s.ladder = ladder
        }
        if let text = r.string("after", &errors) {
            do { s.after = try Quota(parsing: text) } catch { errors.append(r.error("after", "\(error)")) }
        }
        if let v = r.duration("forget_after", &errors) { s.forgetAfter = v }
        if let v = r.int("capacity", &errors) {
            if v >= 64 { s.capacity = v } else { errors.append(r.error("capacity", "must be at least 64")) }
        }
    }

    private static func decodeRule(_ r: inout FilterConfigurationReader, _ errors: inout [ConfigurationError]) -> FilterRule? {
        let before = errors.count
        let name = r.string("name", &errors) ?? ""
        if name.isEmpty { errors.append(r.error("name", "every rule needs a name")) }

        var quota: Quota?
        if let text = r.string("limit", &errors) {
            do { quota = try Quota(parsing: text) } catch { errors.append(r.error("limit", "\(error)")) }
        }

        var key = RuleKey.ip
        if let parts = r.strings("key", &errors) {
            var parsed: [RuleKey.Part] = []
            for (i, text) in parts.enumerated() {
                // "subnet+path" is accepted as well as ["subnet", "path"].
                for piece in text.split(separator: "+") {
                    if let p = RuleKey.Part(String(piece.trimmingASCIISpaces())) { parsed.append(p) }
                    else {
                        errors.append(r.error(parts.count == 1 ? "key" : "key[\(i)]",
                            "unknown key kind \"\(piece)\" (use ip, subnet, route, path, method, host, header:NAME, cookie:NAME, ja4, class, global)"))
                    }
                }
            }
            key = RuleKey(parsed)
        }

        var logOnly = false
        if let mode = r.string("mode", &errors) {
            switch mode.lowercased() {
            case "enforce": logOnly = false
            case "log-only", "log_only": logOnly = true
            default: errors.append(r.error("mode", "\"\(mode)\" is not one of enforce, log-only"))
            }
        }

        let cost = r.int("cost", &errors) ?? 1
        if cost < 1 { errors.append(r.error("cost", "must be at least 1")) }
        if let quota, cost > quota.burst { errors.append(r.error("cost", "\(cost) is more than the burst \(quota.burst): no request could ever pass")) }

        var headers = FilterRule.HeaderExposure.denied
        if let text = r.string("headers", &errors) {
            if let h = FilterRule.HeaderExposure(rawValue: text.lowercased()) { headers = h }
            else { errors.append(r.error("headers", "\"\(text)\" is not one of denied, always, never")) }
        }

        let scope = decodeScope(&r, quota: quota, cost: cost, &errors)

        let maxDelay = r.duration("max_delay", &errors)
        let tarpit = r.duration("tarpit", &errors)
        let fallbackText = r.string("fallback", &errors)

        var action = RuleAction.reject
        let actionText = (r.string("action", &errors) ?? "reject").lowercased()
        switch actionText {
        case "reject": action = .reject
        case "block": action = .block
        case "delay":
            action = .delay(maxDelay: maxDelay ?? .seconds(10))
            if quota == nil { errors.append(r.error("action", "delay needs a limit (its burst is the queue)")) }
        case "challenge":
            var fallback = RuleAction.ChallengeFallback.reject
            if let fallbackText {
                if let f = RuleAction.ChallengeFallback(rawValue: fallbackText.lowercased()) { fallback = f }
                else { errors.append(r.error("fallback", "\"\(fallbackText)\" is not one of reject, pass")) }
            }
            action = .challenge(fallback: fallback)
        case "tarpit": action = .tarpit(tarpit ?? .seconds(10))
        case "close": action = .close
        case "ban": action = .ban
        default:
            errors.append(r.error("action", "unknown action \"\(actionText)\" (use \(RuleAction.names.joined(separator: ", ")))"))
        }
        if maxDelay != nil, actionText != "delay" { errors.append(r.error("max_delay", "only for action = \"delay\"")) }
        if tarpit != nil, actionText != "tarpit" { errors.append(r.error("tarpit", "only for action = \"tarpit\"")) }
        if fallbackText != nil, actionText != "challenge" { errors.append(r.error("fallback", "only for action = \"challenge\"")) }

        var match = RuleMatch()
        if var m = r.table("match", &errors) {
            match = decodeMatch(&m, &errors)
            m.finish(&errors)
        }

        if scope.isGlobal, actionText == "delay" {
            errors.append(r.error("action", "delay cannot be used with scope = \"global\" (a delay needs the bucket's schedule, which lives in Redis); use reject"))
        }

        guard errors.count == before else { return nil }
        return FilterRule(name: name, match: match, key: key, quota: quota, action: action, logOnly: logOnly, cost: cost,
                          headers: headers, scope: scope)
    }

    /// `[fleet]`: `redis` (host:port), `password` or `password_env`, `username`, `database`,
    /// `key_prefix`, `connect_timeout`, `command_timeout`, and the global rules' defaults `lease`,
    /// `credit`, `fail`, `fail_retry`.
    private static func decodeFleet(
        _ r: inout FilterConfigurationReader, environment: [String: String], _ errors: inout [ConfigurationError]
    ) -> FleetSettings {
        var settings = FleetSettings()
        if let text = r.string("redis", &errors) {
            if let (host, port) = ConfigurationUnits.parseHostPort(text) {
                settings.host = host
                settings.port = port
            } else {
                errors.append(r.error("redis", "invalid address \"\(text)\" (expected host:port, e.g. \"127.0.0.1:6379\")"))
            }
        } else {
            errors.append(r.error("redis", "missing: the Redis server as host:port (e.g. \"127.0.0.1:6379\")"))
        }
        let password = r.string("password", &errors)
        let passwordVariable = r.string("password_env", &errors)
        switch (password, passwordVariable) {
        case (.some, .some):
            errors.append(r.error("password_env", "give either password or password_env, not both"))
        case (let password?, nil):
            if password.isEmpty { errors.append(r.error("password", "must not be empty (leave it out for a Redis without AUTH)")) }
            else { settings.password = password }
        case (nil, let name?):
            if let value = environment[name], !value.isEmpty { settings.password = value }
            else { errors.append(r.error("password_env", "the environment variable \(name) is not set or empty (it should hold the Redis password)")) }
        case (nil, nil):
            break
        }
        if let v = r.string("username", &errors) {
            if v.isEmpty || v.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
                errors.append(r.error("username", "must be a Redis ACL user name (not empty, no spaces or control characters)"))
            } else if password == nil && passwordVariable == nil {
                errors.append(r.error("username", "needs password or password_env (AUTH takes both)"))
            } else {
                settings.username = v
            }
        }
        if let v = r.int("database", &errors) {
            if v >= 0 && v <= 1_000_000 { settings.database = v }
            else { errors.append(r.error("database", "must be a Redis database number, 0 or more")) }
        }
        settings.tls = r.bool("tls", &errors) ?? false
        if let v = r.string("tls_ca", &errors) {
            // Relative to the configuration file, as [listen.tls] paths are.
            let path = ListenerTLSConfiguration.resolve(v, (r.file as NSString).deletingLastPathComponent)
            if !settings.tls { errors.append(r.error("tls_ca", "needs tls = true")) }
            else if FileManager.default.isReadableFile(atPath: path) { settings.tlsCA = path }
            else { errors.append(r.error("tls_ca", "file \"\(path)\" does not exist or is not readable")) }
        }
        if let v = r.string("tls_server_name", &errors) {
            if !settings.tls { errors.append(r.error("tls_server_name", "needs tls = true")) }
            else if v.isEmpty || v.utf8.contains(where: { $0 <= 0x20 }) { errors.append(r.error("tls_server_name", "must be a host name")) }
            else { settings.tlsServerName = v }
        }
        if let v = r.string("key_prefix", &errors) {
            if v.utf8.count <= 64, v.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) { settings.keyPrefix = v }
            else { errors.append(r.error("key_prefix", "must be at most 64 printable ASCII characters without spaces")) }
        }
        for (key, path) in [("connect_timeout", \FleetSettings.connectTimeout), ("command_timeout", \FleetSettings.commandTimeout), ("fail_retry", \FleetSettings.failRetry)] {
            guard let d = r.duration(key, &errors) else { continue }
            if d > .zero && d <= .seconds(60) { settings[keyPath: path] = d }
            else { errors.append(r.error(key, "must be a positive duration of at most 60s")) }
        }
        if let v = r.int("lease", &errors) {
            if v >= 1 { settings.leaseSize = v } else { errors.append(r.error("lease", "must be at least 1 token")) }
        }
        if let v = r.int("credit", &errors) {
            if v >= 0 { settings.initialCredit = v } else { errors.append(r.error("credit", "must be 0 or more tokens")) }
        }
        if let v = r.string("fail", &errors) {
            if let choice = FleetFailChoice(rawValue: v.lowercased()) { settings.failMode = choice }
            else { errors.append(r.error("fail", "\"\(v)\" is not one of open, closed")) }
        }
        return settings
    }

    /// `scope` and, for global rules, `lease`, `credit`, `fail`, `fail_limit`.
    private static func decodeScope(_ r: inout FilterConfigurationReader, quota: Quota?, cost: Int, _ errors: inout [ConfigurationError]) -> RuleScope {
        var global = false
        if let text = r.string("scope", &errors) {
            switch text.lowercased() {
            case "local": global = false
            case "global": global = true
            default: errors.append(r.error("scope", "\"\(text)\" is not one of local, global"))
            }
        }
        var options = GlobalRuleOptions()
        let lease = r.int("lease", &errors)
        let credit = r.int("credit", &errors)
        let fail = r.string("fail", &errors)
        let failLimit = r.string("fail_limit", &errors)
        if !global {
            for (key, present) in [("lease", lease != nil), ("credit", credit != nil), ("fail", fail != nil), ("fail_limit", failLimit != nil)] where present {
                errors.append(r.error(key, "only for scope = \"global\""))
            }
            return .local
        }
        if quota == nil { errors.append(r.error("scope", "scope = \"global\" needs a limit (an access rule has no quota to share)")) }
        if let lease {
            if lease < 1 { errors.append(r.error("lease", "must be at least 1 token")) }
            else if let quota, lease > quota.burst { errors.append(r.error("lease", "\(lease) is more than the burst \(quota.burst)")) }
            else if lease < cost { errors.append(r.error("lease", "\(lease) is less than the cost \(cost): no request could ever pass")) }
            else { options.leaseSize = lease }
        }
        if let credit {
            if credit >= 0 { options.initialCredit = credit } else { errors.append(r.error("credit", "must be 0 or more tokens")) }
        }
        if let fail {
            if let choice = FleetFailChoice(rawValue: fail.lowercased()) { options.failMode = choice }
            else { errors.append(r.error("fail", "\"\(fail)\" is not one of open, closed")) }
        }
        if let failLimit {
            do { options.failOpenLimit = try Quota(parsing: failLimit) } catch { errors.append(r.error("fail_limit", "\(error)")) }
            if fail?.lowercased() == "closed" { errors.append(r.error("fail_limit", "only for fail = \"open\"")) }
        }
        return .global(options)
    }

    private static func decodeMatch(_ r: inout FilterConfigurationReader, _ errors: inout [ConfigurationError]) -> RuleMatch {
        var match = RuleMatch()
        if let v = r.strings("methods", &errors) { match.methods = v.map { $0.uppercased() } }
        if let v = r.strings("hosts", &errors) { match.hosts = v.map { $0.lowercased() } }
        if let v = r.string("path_prefix", &errors) {
            if v.hasPrefix("/") { match.pathPrefix = v } else { errors.append(r.error("path_prefix", "must start with /")) }
        }
        if let v = r.string("path", &errors) {
            if v.hasPrefix("/") || v.hasPrefix("*") { match.pathPattern = GlobPattern(v) }
            else { errors.append(r.error("path", "a path pattern starts with / (e.g. \"/api/*/items\", \"/static/**\")")) }
        }
        if let v = r.strings("routes", &errors) { match.routes = v }
        if let v = r.strings("ja4", &errors) {
            for value in v where !JA4Fingerprint.isWellFormed(value) {
                errors.append(r.error("ja4", "\"\(value)\" is not a JA4 fingerprint (e.g. t13d1516h2_8daaf6152771_e5627efa2ab1)"))
            }
            match.ja4 = Set(v)
        }
        if let v = r.strings("classes", &errors) {
            var classes: [ClientClass] = []
            for (i, text) in v.enumerated() {
                if let c = ClientClass(rawValue: text.lowercased()) { classes.append(c) }
                else {
                    errors.append(r.error("classes[\(i)]", "unknown class \"\(text)\" (use \(ClientClass.allCases.map(\.rawValue).joined(separator: ", ")))"))
                }
            }
            match.classes = classes
        }
        for (key, isCookie) in [("headers", false), ("cookies", true)] {
            guard let fields = r.table(key, &errors) else { continue }
            var conditions: [RuleMatch.FieldCondition] = []
            for name in fields.table.keys.sorted() {
                let value = fields.table[name]
                if let b = value?.bool, b { conditions.append(.init(name: name)) }
                else if let s = value?.string { conditions.append(.init(name: name, equals: s)) }
                else { errors.append(fields.error(name, "expected true (present) or a string (equal to)")) }
            }
            if isCookie { match.cookies = conditions } else { match.headers = conditions }
        }
        return match
    }
}
