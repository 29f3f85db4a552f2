import Testing
import Levee

@Suite struct VersionTests {
    @Test func versionIsSemantic() {
        #expect(LeveeVersion.current.split(separator: ".").count == 3)
    }
}
