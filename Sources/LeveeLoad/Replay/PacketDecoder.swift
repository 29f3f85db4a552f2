/// Decodes one captured frame down to its TCP segment. Pure: bytes in, fields out.
public enum PacketDecoder {
    /// The parts of a TCP segment replay needs.
    public struct TCPSegment: Sendable, Equatable {
        public var source: String
        public var destination: String
        public var sourcePort: Int
        public var destinationPort: Int
        public var sequence: UInt32
        public var syn: Bool
        public var payload: [UInt8]
    }

    /// libpcap link types understood here.
    static let ethernet: Int32 = 1, null: Int32 = 0, loop: Int32 = 108, raw: Int32 = 12, rawAlt: Int32 = 14,
               linkTypeRaw: Int32 = 101, linuxSLL: Int32 = 113, linuxSLL2: Int32 = 276

    /// The TCP segment inside a frame of the given libpcap link type, or nil for anything else.
    public static func tcpSegment(_ p: [UInt8], linkType: Int32) -> TCPSegment? {
        var offset: Int
        var etherType: Int
        switch linkType {
        case ethernet:
            guard p.count >= 14 else { return nil }
            offset = 14
            etherType = Int(p[12]) << 8 | Int(p[13])
            while etherType == 0x8100 || etherType == 0x88A8 {  // VLAN tags
                guard p.count >= offset + 4 else { return nil }
                etherType = Int(p[offset + 2]) << 8 | Int(p[offset + 3])
                offset += 4
            }
        case null, loop:
            guard p.count >= 4 else { return nil }
            offset = 4
            etherType = (p[0] == 2 || p[3] == 2) ? 0x0800 : 0x86DD
        case raw, rawAlt, linkTypeRaw:
            offset = 0
            guard let first = p.first else { return nil }
            etherType = first >> 4 == 4 ? 0x0800 : 0x86DD
        case linuxSLL:
            guard p.count >= 16 else { return nil }
            offset = 16
            etherType = Int(p[14]) << 8 | Int(p[15])
        case linuxSLL2:
            guard p.count >= 20 else { return nil }
            offset = 20
            etherType = Int(p[0]) << 8 | Int(p[1])
        default:
            return nil
        }
        var source = "", destination = ""
        var end = p.count
        switch etherType {
        case 0x0800:
            guard p.count >= offset + 20, p[offset] >> 4 == 4, p[offset + 9] == 6 else { return nil }
            let ihl = Int(p[offset] & 0x0F) * 4
            let total = Int(p[offset + 2]) << 8 | Int(p[offset + 3])
            end = min(p.count, offset + total)
            source = p[(offset + 12)..<(offset + 16)].map(String.init).joined(separator: ".")
            destination = p[(offset + 16)..<(offset + 20)].map(String.init).joined(separator: ".")
            offset += ihl
        case 0x86DD:
            guard p.count >= offset + 40, p[offset + 6] == 6 else { return nil }
            let length = Int(p[offset + 4]) << 8 | Int(p[offset + 5])
            end = min(p.count, offset + 40 + length)
            func v6(_ at: Int) -> String {
                stride(from: at, to: at + 16, by: 2).map { String(Int(p[$0]) << 8 | Int(p[$0 + 1]), radix: 16) }
                    .joined(separator: ":")
            }
            source = v6(offset + 8)
            destination = v6(offset + 24)
            offset += 40
        default:
            return nil
        }
        guard end >= offset + 20 else { return nil }
        let sport = Int(p[offset]) << 8 | Int(p[offset + 1])
        let dport = Int(p[offset + 2]) << 8 | Int(p[offset + 3])
        let seq = UInt32(p[offset + 4]) << 24 | UInt32(p[offset + 5]) << 16 | UInt32(p[offset + 6]) << 8 | UInt32(p[offset + 7])
        let dataOffset = Int(p[offset + 12] >> 4) * 4
        let syn = p[offset + 13] & 0x02 != 0
        guard dataOffset >= 20, end >= offset + dataOffset else { return nil }
        return TCPSegment(source: source, destination: destination, sourcePort: sport, destinationPort: dport,
                          sequence: seq, syn: syn, payload: Array(p[(offset + dataOffset)..<end]))
    }
}
