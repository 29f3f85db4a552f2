import Foundation

extension ListenerTLSConfiguration {
    /// Reads `[listen.tls]` (and its `[[listen.tls.sni]]` entries). Relative paths are taken from
    /// the directory of the configuration file; files that do not exist are reported by field and line.
    static func decode(_ reader: inout TOMLTableReader, baseDirectory: String?) -> ListenerTLSConfiguration? {
        let certificate = reader.string("certificate")
        let key = reader.string("key")
        let minimum = reader.string("min_version")
        let http2 = reader.bool("http2")
        let streams = reader.int("max_concurrent_streams", in: 1...10_000)
        let resets = reader.int("max_resets_per_second", in: 1...1_000_000)
        let handshake = reader.duration("handshake_timeout")
        var ok = true
        if certificate == nil { reader.report("certificate", "missing (PEM certificate chain, e.g. certificate = \"certs/site.pem\")"); ok = false }
        if key == nil { reader.report("key", "missing (PEM private key, e.g. key = \"certs/site.key\")"); ok = false }
        var version = MinimumVersion.tls12
        if let minimum {
            if let parsed = MinimumVersion(rawValue: minimum) { version = parsed } else {
                reader.report("min_version", "unknown TLS version \"\(minimum)\" (use \"1.2\" or \"1.3\")")
                ok = false
            }
        }
        if let certificate, !checkFile(&reader, "certificate", certificate, baseDirectory) { ok = false }
        if let key, !checkFile(&reader, "key", key, baseDirectory) { ok = false }

        var sni: [Certificate] = []
        for var entry in reader.tableArray("sni") ?? [] {
            let names = entry.stringArray("names") ?? []
            let cert = entry.string("certificate")
            let k = entry.string("key")
            if names.isEmpty { entry.report("names", "missing (server names served by this certificate, e.g. names = [\"api.example.com\"])"); ok = false }
            if cert == nil { entry.report("certificate", "missing"); ok = false }
            if k == nil { entry.report("key", "missing"); ok = false }
            if let cert, !checkFile(&entry, "certificate", cert, baseDirectory) { ok = false }
            if let k, !checkFile(&entry, "key", k, baseDirectory) { ok = false }
            if let cert, let k, !names.isEmpty {
                sni.append(Certificate(serverNames: names, certificatePath: resolve(cert, baseDirectory), keyPath: resolve(k, baseDirectory)))
            }
            entry.finish()
        }
        guard ok, let certificate, let key else { return nil }
        var tls = ListenerTLSConfiguration(
            defaultCertificate: Certificate(certificatePath: resolve(certificate, baseDirectory), keyPath: resolve(key, baseDirectory)),
            sniCertificates: sni, minimumVersion: version)
        if let http2 { tls.http2 = http2 }
        if let streams { tls.maxConcurrentStreams = streams }
        if let resets { tls.maxResetsPerSecond = resets }
        if let handshake { tls.handshakeTimeout = handshake }
        return tls
    }

    static func resolve(_ path: String, _ baseDirectory: String?) -> String {
        guard !path.hasPrefix("/"), let baseDirectory, !baseDirectory.isEmpty else { return path }
        return baseDirectory + "/" + path
    }

    private static func checkFile(_ reader: inout TOMLTableReader, _ field: String, _ path: String, _ base: String?) -> Bool {
        let full = resolve(path, base)
        if FileManager.default.isReadableFile(atPath: full) { return true }
        reader.report(field, "file \"\(full)\" does not exist or is not readable")
        return false
    }
}

extension ConfigurationDiagnostics {
    /// Directory of the file being read: relative certificate paths are taken from there.
    var baseDirectory: String? {
        guard file.contains("/") else { return nil }
        return (file as NSString).deletingLastPathComponent
    }
}
