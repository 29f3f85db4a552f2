/// Which requests a rule applies to. Every condition given must hold (AND); an empty match
/// applies to every request. Within one list (methods, hosts, classes …) any entry may match (OR).
public struct RuleMatch: Sendable, Equatable {
    /// A header or cookie condition: present (any value) or equal to a value.
    public struct FieldCondition: Sendable, Equatable {
        public var name: String
        /// nil: present with any value; otherwise exactly equal.
        public var equals: String?
        public init(name: String, equals: String? = nil) {
            self.name = name
            self.equals = equals
        }
    }

    /// Upper-case methods (`GET`, `POST` …); nil means any.
    public var methods: [String]?
    /// Exact hosts (case-insensitive) or `*.example.com` suffixes; nil means any.
    public var hosts: [String]?
    public var pathPrefix: String?
    public var pathPattern: GlobPattern?
    /// Route names (from the proxy's routing table); nil means any.
    public var routes: [String]?
    public var headers: [FieldCondition]
    public var cookies: [FieldCondition]
    /// Classes the rule applies to; nil means every class except `trusted` (trusted clients
    /// bypass rules unless a rule names them).
    public var classes: [ClientClass]?
    /// JA4 TLS client fingerprints (a block or allow list); nil means any. A request that did
    /// not come over TLS terminated here has no JA4 and never matches a list.
    public var ja4: Set<String>?

    public init(
        methods: [String]? = nil, hosts: [String]? = nil, pathPrefix: String? = nil, pathPattern: GlobPattern? = nil,
        routes: [String]? = nil, headers: [FieldCondition] = [], cookies: [FieldCondition] = [], classes: [ClientClass]? = nil,
        ja4: Set<String>? = nil
    ) {
        self.methods = methods
        self.hosts = hosts?.map { $0.lowercased() }
        self.pathPrefix = pathPrefix
        self.pathPattern = pathPattern
        self.routes = routes
        self.headers = headers
        self.cookies = cookies
        self.classes = classes
        self.ja4 = ja4
    }

    /// Whether the request described by `facts` satisfies every condition.
    public func matches(_ facts: RequestFacts) -> Bool {
        if let classes {
            guard classes.contains(facts.clientClass) else { return false }
        } else if facts.clientClass == .trusted {
            return false
        }
        if let methods, !methods.contains(facts.method) { return false }
        if let pathPrefix, !facts.path.hasPrefix(pathPrefix) { return false }
        if let pathPattern, !pathPattern.matches(facts.path) { return false }
        if let routes, !routes.contains(facts.route) { return false }
        if let ja4 {
            guard let fingerprint = facts.ja4, ja4.contains(fingerprint) else { return false }
        }
        if let hosts, !hosts.contains(where: { Self.hostMatches($0, facts.host) }) { return false }
        for h in headers {
            let values = facts.headers[h.name]
            if values.isEmpty { return false }
            if let v = h.equals, !values.contains(v) { return false }
        }
        for c in cookies {
            guard let value = facts.cookie(c.name) else { return false }
            if let v = c.equals, value != v[...] { return false }
        }
        return true
    }

    static func hostMatches(_ pattern: String, _ host: String) -> Bool {
        if pattern.hasPrefix("*.") { return host.hasSuffix(pattern.dropFirst(1)) && host.count > pattern.count - 1 }
        return pattern == host
    }
}
