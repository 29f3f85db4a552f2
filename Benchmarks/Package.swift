// swift-tools-version:6.3
import PackageDescription

// Benchmarks of the Levee package, kept apart so library users never build them.
// `swift package benchmark` runs the ordo-one/benchmark suites; `levee-core-peer` is the plain
// release executable that `peers/core.sh` runs side by side with the Go x/time/rate peer.
// A path dependency's identity is its directory name (`levee`, `main`, a worktree's name …).
let rootIdentity = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "levee").lowercased()

let package = Package(
    name: "levee-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        // Only the malloc interposer trait: the default RuntimeInterposer trait pulls a package
        // that is not needed for these measurements.
        .package(url: "https://github.com/ordo-one/package-benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "LeveeCore",
            dependencies: [
                .product(name: "Levee", package: rootIdentity),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "LeveeCore",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        // The cost of the Hummingbird middleware: the same hello-world app with and without it.
        .executableTarget(
            name: "HummingbirdMiddleware",
            dependencies: [
                .product(name: "LeveeHummingbird", package: rootIdentity),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "HummingbirdMiddleware",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "levee-core-peer",
            dependencies: [.product(name: "Levee", package: rootIdentity)],
            path: "LeveeCorePeer"
        ),
    ],
    swiftLanguageModes: [.v6]
)
