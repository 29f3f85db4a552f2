// swift-tools-version:6.1
import PackageDescription

// Levee: a token-bucket (GCRA) rate limiter and HTTP flood-filter reverse proxy.
// `Levee` is the I/O-free limiter core; `LeveeProxy` and `LeveeLoad` are built on SwiftNIO;
// `levee` is the command line. Benchmarks live in their own package under Benchmarks/.
let package = Package(
    name: "levee",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Levee", targets: ["Levee"]),
        .library(name: "LeveeProxy", targets: ["LeveeProxy"]),
        .library(name: "LeveeLoad", targets: ["LeveeLoad"]),
        .library(name: "LeveeRESP", targets: ["LeveeRESP"]),
        .library(name: "LeveeRedis", targets: ["LeveeRedis"]),
        .executable(name: "levee", targets: ["levee"]),
        .library(name: "LeveeHummingbird", targets: ["LeveeHummingbird"]),
        .library(name: "LeveeNIO", targets: ["LeveeNIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        // The limiter core: standard library and Synchronization only, no I/O.
        .target(name: "Levee", dependencies: ["CLeveeCycles"]),
        // The CPU counter read behind MonotonicClock (an inline rdtsc / cntvct_el0).
        .target(name: "CLeveeCycles"),

        // C shims: libpcap for capture replay, OpenSSL's libcrypto for HMAC/SHA-256.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        .target(
            name: "LeveeProxy",
            dependencies: [
                "Levee",
                "LeveeRESP",
                "LeveeRedis",
                "CLibCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        .target(
            name: "LeveeLoad",
            dependencies: [
                "Levee",
                "CPcap",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        // A small Redis (RESP2) client on SwiftNIO: pipelining, timeouts, reconnect, scripts.
        .target(
            name: "LeveeRESP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Fleet-wide quotas: GCRA leases from Redis, spent locally through the core.
        .target(
            name: "LeveeRedis",
            dependencies: [
                "Levee",
                "LeveeRESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "levee",
            dependencies: [
                "Levee",
                "LeveeProxy",
                "LeveeLoad",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Helpers shared by several test targets (loopback servers, clients, hashing).
        .target(
            name: "LeveeTestSupport",
            dependencies: [
                "CLibCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/LeveeTestSupport"
        ),
        .testTarget(name: "LeveeTests", dependencies: ["Levee"]),
        .testTarget(
            name: "LeveeRedisTests",
            dependencies: [
                "LeveeRedis", "LeveeRESP", "Levee", "LeveeTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LeveeProxyTests",
            dependencies: [
                "LeveeProxy", "LeveeTestSupport", "LeveeLoad", "LeveeRedis", "LeveeRESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                "Levee",
            ]
        ),
        .testTarget(
            name: "LeveeLoadTests",
            dependencies: [
                "LeveeLoad", "LeveeTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // Adapters: the limiter where Swift servers already are.
        .target(
            name: "LeveeHummingbird",
            dependencies: [
                "Levee", "LeveeNIO",
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .target(
            name: "LeveeNIO",
            dependencies: [
                "Levee",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LeveeHummingbirdTests",
            dependencies: [
                "LeveeHummingbird", "LeveeTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LeveeNIOTests",
            dependencies: [
                "LeveeNIO", "LeveeTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
