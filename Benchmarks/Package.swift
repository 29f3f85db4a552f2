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
        .executableTarget(
            name: "levee-core-peer",
            dependencies: [.product(name: "Levee", package: rootIdentity)],
            path: "LeveeCorePeer"
        ),
    ],
    swiftLanguageModes: [.v6]
)
