import CPcap

/// Reads the HTTP requests out of a pcap or pcapng capture through libpcap: packets are decoded
/// (Ethernet, Linux cooked, raw IP, loopback; IPv4 and IPv6; TCP), client-to-server payloads are
/// reassembled per TCP flow by sequence number, and ``HTTPRequestSplitter`` cuts them into requests.
public enum CaptureReader {
    /// One request found in a capture, with the capture time of its first byte.
    public struct CapturedRequest: Sendable, Equatable {
        /// Nanoseconds since the epoch (capture clock).
        public var timestamp: Int64
        public var bytes: [UInt8]
    }

    /// All requests in the file, in order of their first byte's capture time.
    /// `port` selects the server port (by default any flow whose payload starts like a request).
    public static func requests(file: String, port: Int? = nil) throws(LoadError) -> [CapturedRequest] {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let handle = pcap_open_offline(file, &errbuf) else {
            throw .capture("cannot open \(file): \(String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        defer { pcap_close(handle) }
        let linkType = pcap_datalink(handle)
        var flows = FlowTable(serverPort: port)
        var header: UnsafeMutablePointer<pcap_pkthdr>?  // unsafe: libpcap's out-parameters; copied before the next call
        var data: UnsafePointer<UInt8>?  // unsafe: as above, valid until the next pcap_next_ex
        while true {
            let r = pcap_next_ex(handle, &header, &data)
            if r == -2 { break }  // end of file
            if r == -1 { throw .capture("read error in \(file)") }
            guard r == 1, let header, let data else { continue }
            let h = header.pointee
            let timestamp = Int64(h.ts.tv_sec) * 1_000_000_000 + Int64(h.ts.tv_usec) * 1000
            let packet = Array(UnsafeBufferPointer(start: data, count: Int(h.caplen)))  // libpcap's packet buffer lives until the next read; copied into an Array here
            if let segment = PacketDecoder.tcpSegment(packet, linkType: linkType) {
                flows.add(segment, timestamp: timestamp)
            }
        }
        return flows.requests()
    }
}
