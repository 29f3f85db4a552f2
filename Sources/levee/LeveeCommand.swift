import ArgumentParser
import Levee

/// `levee`: the proxy, the load generator and the tools around them in one binary.
@main
struct LeveeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "levee",
        abstract: "A token-bucket rate limiter and HTTP flood-filter reverse proxy.",
        version: LeveeVersion.current,
        subcommands: [ServeCommand.self, CheckCommand.self, LoadCommand.self, DemoBackendCommand.self]
    )
}
