/// The version of the Levee package, reported by `levee --version` and in `/status`.
public enum LeveeVersion {
    /// Semantic version string of this build.
    public static let current = "0.1.0"
}
