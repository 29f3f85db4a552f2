import ArgumentParser
import LeveeProxy

import Foundation

/// `levee check --config FILE`: validates a configuration without starting anything.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file and print every error with its line and field.",
        discussion: "Prints `ok: FILE (N routes, M upstreams)` and exits 0, or one line per error and exits 1.")

    @Option(name: .shortAndLong, help: "The configuration file.")
    var config: String = "config/levee.toml"

    func run() throws {
        let report = ConfigurationCheck.run(file: config)
        if report.ok {
            for line in report.lines { print(line) }
        } else {
            for line in report.lines { FileHandle.standardError.write(Data((line + "\n").utf8)) }
            throw ExitCode(1)
        }
    }
}
