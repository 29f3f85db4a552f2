import NIOCore

extension UpstreamResponseHead {
    /// Calls `body` with the name and value bytes of each field to send the client, in order:
    /// hop-by-hop fields (RFC 9110 §7.6.1) and those named in `Connection` are dropped, and
    /// `Content-Length` too if `dropContentLength` (a response that has no body). Returns whether
    /// the upstream sent a `Content-Length`. The bytes are valid during the call only.
    func forEachForwardedField(
        dropContentLength: Bool, _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void
    ) -> Bool {
        let connectionNamed = connectionNamesFields ? namesListedInConnection() : nil
        var hasContentLength = false
        // Borrowed for the loop only (no copy); the ranges were found in these same bytes.
        bytes.withUnsafeReadableBytes { raw in
            for field in fields {
                let name = UnsafeRawBufferPointer(rebasing: raw[field.nameStart..<field.nameEnd])
                switch name.count {
                case 2 where name.equalsFieldName("te"): continue
                case 7 where name.equalsFieldName("trailer") || name.equalsFieldName("upgrade"): continue
                case 10 where name.equalsFieldName("connection") || name.equalsFieldName("keep-alive"): continue
                case 14 where name.equalsFieldName("content-length"):
                    hasContentLength = true
                    if dropContentLength { continue }
                case 16 where name.equalsFieldName("proxy-connection"): continue
                case 17 where name.equalsFieldName("transfer-encoding"): continue
                default: break
                }
                if let connectionNamed, connectionNamed.contains(where: { name.equalsFieldName(runtime: $0) }) { continue }
                body(name, UnsafeRawBufferPointer(rebasing: raw[field.valueStart..<field.valueEnd]))
            }
        }
        return hasContentLength
    }

    /// Lower-cased names listed in `Connection` other than `close` and `keep-alive`.
    private func namesListedInConnection() -> [String] {
        var names: [String] = []
        bytes.withUnsafeReadableBytes { raw in
            for field in fields where raw[field.nameStart..<field.nameEnd].equalsFieldName("connection") {
                forEachListItem(raw[field.valueStart..<field.valueEnd]) { item in
                    if item.isEmpty || item.equalsFieldName("close") || item.equalsFieldName("keep-alive") { return }
                    names.append(String(decoding: item, as: UTF8.self).lowercased())
                }
            }
        }
        return names
    }
}
