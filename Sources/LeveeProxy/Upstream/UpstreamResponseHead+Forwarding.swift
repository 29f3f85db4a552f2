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
                if name.isHopByHopFieldName { continue }
                if name.count == 14 && name.equalsFieldName("content-length") {
                    hasContentLength = true
                    if dropContentLength { continue }
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
                appendNamesListedInConnection(raw[field.valueStart..<field.valueEnd], to: &names)
            }
        }
        return names
    }
}
