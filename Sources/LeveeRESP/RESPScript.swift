/// A Lua script for `EVALSHA`, named by the SHA-1 of its source as Redis names it.
///
/// ``RESPClient/evalSHA(_:keys:arguments:)`` sends `EVALSHA`; when Redis answers `NOSCRIPT`
/// (a restarted server, `SCRIPT FLUSH`, a failover to a replica that never saw it) it loads the
/// script with `SCRIPT LOAD` and retries once. The source crosses the network only then.
public struct RESPScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// Lowercase hex SHA-1 of `source`: what `SCRIPT LOAD` returns and `EVALSHA` expects.
    public let sha1: String

    /// A script with the given Lua source.
    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hexDigest(Array(source.utf8))
    }
}
