// swift-tools-version:6.0
// A reference point for Benchmarks/peers/proxy.sh (RELAY=1): a SwiftNIO TCP relay that copies bytes
// between each client connection and its own upstream connection, with no HTTP work at all. What it
// serves on one event loop is the ceiling of any HTTP proxy built on SwiftNIO's sockets and pipeline.
// With `tls CERT KEY` it terminates TLS with swift-nio-ssl first (Benchmarks/peers/tls.sh, FLOOR=1);
// with `respond` it answers every read with a fixed 429 (Benchmarks/peers/filter.sh, FLOOR=1); with
// `h2 CERT KEY` it answers every HTTP/2 stream itself over TLS (tls.sh, FLOOR=1, the HTTP/2 row).
import PackageDescription

let package = Package(
    name: "nio-relay",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    ],
    targets: [
        .executableTarget(
            name: "nio-relay",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)])
    ]
)
