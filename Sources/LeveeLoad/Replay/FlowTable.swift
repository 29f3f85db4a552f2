/// Reassembles client-to-server TCP streams from captured segments (by sequence number, dropping
/// retransmitted bytes) and cuts each stream into HTTP requests.
struct FlowTable {
    struct Key: Hashable {
        var source: String, sourcePort: Int, destination: String, destinationPort: Int
    }

    struct Flow {
        var order: Int
        var initialSequence: UInt32?
        var segments: [(offset: UInt32, timestamp: Int64, payload: [UInt8])] = []
    }

    let serverPort: Int?
    var flows: [Key: Flow] = [:]

    init(serverPort: Int?) { self.serverPort = serverPort }

    mutating func add(_ s: PacketDecoder.TCPSegment, timestamp: Int64) {
        if let serverPort, s.destinationPort != serverPort { return }
        let key = Key(source: s.source, sourcePort: s.sourcePort, destination: s.destination, destinationPort: s.destinationPort)
        var flow = flows[key] ?? Flow(order: flows.count)
        if s.syn {
            flow.initialSequence = s.sequence &+ 1
        }
        if !s.payload.isEmpty {
            if flow.initialSequence == nil { flow.initialSequence = s.sequence }
            flow.segments.append((s.sequence &- flow.initialSequence!, timestamp, s.payload))
        }
        flows[key] = flow
    }

    func requests() -> [CaptureReader.CapturedRequest] {
        var out: [(CaptureReader.CapturedRequest, Int, Int)] = []
        for flow in flows.values {
            let segments = flow.segments.sorted { $0.offset < $1.offset }
            var stream: [UInt8] = []
            var starts: [(Int, Int64)] = []
            for seg in segments {
                let offset = Int(seg.offset)
                guard offset + seg.payload.count > stream.count else { continue }  // retransmission
                guard offset <= stream.count else { break }  // a gap: the rest of the flow was not captured
                starts.append((stream.count, seg.timestamp))
                stream.append(contentsOf: seg.payload[(stream.count - offset)...])
            }
            guard serverPort != nil || HTTPRequestSplitter.looksLikeRequest(stream) else { continue }
            for (n, range) in HTTPRequestSplitter.split(stream).enumerated() {
                let ts = starts.last { $0.0 <= range.lowerBound }?.1 ?? 0
                out.append((CaptureReader.CapturedRequest(timestamp: ts, bytes: Array(stream[range])), flow.order, n))
            }
        }
        out.sort { ($0.0.timestamp, $0.1, $0.2) < ($1.0.timestamp, $1.1, $1.2) }
        return out.map(\.0)
    }
}

/// Finds where HTTP/1.x requests begin and end in a client's byte stream (Content-Length and chunked bodies).
public enum HTTPRequestSplitter {
    static let methods = ["GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "]

    /// True when the bytes start with an HTTP method and a space.
    public static func looksLikeRequest(_ s: [UInt8]) -> Bool {
        methods.contains { s.starts(with: Array($0.utf8)) }
    }

    /// The byte ranges of the complete requests in `s` (an incomplete last request is left out).
    public static func split(_ s: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var pos = 0
        while pos < s.count {
            guard let headEnd = find(s, [13, 10, 13, 10], from: pos) else { break }
            let head = String(decoding: s[pos..<headEnd], as: UTF8.self).lowercased()
            var end = headEnd + 4
            var length = 0
            var chunked = false
            for line in head.split(separator: "\r\n").dropFirst() {
                if line.hasPrefix("content-length:") {
                    length = Int(line.dropFirst(15).trimmingSpaces()) ?? 0
                } else if line.hasPrefix("transfer-encoding:") && line.contains("chunked") {
                    chunked = true
                }
            }
            if chunked {
                var p = end
                var complete = false
                while let lineEnd = find(s, [13, 10], from: p) {
                    let sizeText = String(decoding: s[p..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                    guard let size = Int(sizeText.trimmingSpaces(), radix: 16) else { break }
                    p = lineEnd + 2
                    if size == 0 {
                        // Trailers until an empty line.
                        while let e = find(s, [13, 10], from: p) {
                            let empty = e == p
                            p = e + 2
                            if empty { complete = true; break }
                        }
                        break
                    }
                    p += size + 2
                }
                guard complete else { break }
                end = p
            } else {
                end += length
            }
            guard end <= s.count else { break }
            out.append(pos..<end)
            pos = end
        }
        return out
    }

    static func find(_ s: [UInt8], _ pattern: [UInt8], from: Int) -> Int? {
        guard s.count >= pattern.count, from <= s.count - pattern.count else { return nil }
        var i = from
        while i <= s.count - pattern.count {
            if s[i] == pattern[0] && s[i..<(i + pattern.count)].elementsEqual(pattern) { return i }
            i += 1
        }
        return nil
    }
}
