/// Where the running configuration comes from, and so whether it can be reloaded.
public enum ConfigurationSource: Sendable, Equatable {
    /// A TOML file: reloaded on SIGHUP and `POST /admin/reload`.
    case file(String)
    /// Built from command-line flags (the quick form of `levee serve`): nothing to reload.
    case commandLine(ProxyConfiguration)

    /// The file path, if any.
    public var file: String? {
        if case .file(let path) = self { return path }
        return nil
    }
}
