import NIOSSL

/// Which certificate answers which SNI server name: exact names first, then the longest
/// `*.suffix` wildcard (which, as in certificates, covers exactly one more label).
struct SNICertificateTable: Sendable {
    /// A certificate chain and its key.
    struct Material: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    struct Entry: Sendable {
        var serverNames: [String]
        var material: Material
    }

    private var exact: [String: Entry] = [:]
    /// `(".example.com", entry)`, longest suffix first.
    private var wildcards: [(suffix: String, entry: Entry)] = []

    init(_ entries: [Entry]) throws {
        for entry in entries {
            for name in entry.serverNames {
                if name.hasPrefix("*.") {
                    wildcards.append((String(name.dropFirst(1)), entry))
                } else if exact[name] == nil {
                    exact[name] = entry
                }
            }
        }
        wildcards.sort { $0.suffix.count > $1.suffix.count }
    }

    var isEmpty: Bool { exact.isEmpty && wildcards.isEmpty }

    /// The entry for `serverName`, or nil for the default certificate.
    func lookup(_ serverName: String?) -> Entry? {
        guard var name = serverName?.lowercased(), !name.isEmpty else { return nil }
        if name.hasSuffix(".") { name.removeLast() }
        if let entry = exact[name] { return entry }
        for (suffix, entry) in wildcards where name.hasSuffix(suffix) {
            let head = name.dropLast(suffix.count)
            if !head.isEmpty && !head.contains(".") { return entry }
        }
        return nil
    }
}
