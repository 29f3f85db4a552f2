import Foundation
import Testing
@testable import LeveeLoad

@Suite("Scenario, targets and thresholds")
struct ScenarioTests {
    @Test func loopbackTargetsOnly() throws {
        #expect(try LoadTarget(url: "http://127.0.0.1:8080/x").isLoopback)
        #expect(try LoadTarget(url: "http://127.9.9.9/").isLoopback)
        #expect(try LoadTarget(url: "http://localhost:80").isLoopback)
        #expect(try LoadTarget(url: "http://[::1]:8080/").isLoopback)
        #expect(try !LoadTarget(url: "http://10.0.0.1/").isLoopback)
        #expect(try !LoadTarget(url: "http://example.com/").isLoopback)
        #expect(try !LoadTarget(url: "http://127.0.0.1.example.com/").isLoopback)
        #expect(throws: LoadError.remoteTargetRefused("192.0.2.7")) {
            try LoadTarget(url: "http://192.0.2.7:80/").checkAllowed(allowRemote: false)
        }
        try LoadTarget(url: "http://192.0.2.7:80/").checkAllowed(allowRemote: true)
    }

    @Test func engineRefusesRemoteTargetBeforeSendingAnything() async throws {
        let scenario = Scenario(target: try LoadTarget(url: "http://192.0.2.7:80/"), duration: 1_000_000_000,
                                threads: 1, classes: [TrafficClass(name: "x")])
        await #expect(throws: LoadError.remoteTargetRefused("192.0.2.7")) {
            _ = try await LoadEngine(scenario: scenario).run()
        }
    }

    @Test func parsesAFullScenario() throws {
        let s = try Scenario(toml: """
            target = "http://127.0.0.1:9000/"
            duration = "20s"
            threads = 2
            timeout = "2s"
            thresholds = ["legit.success_rate >= 0.999", "legit.p99_ms < 50", "attack.served_rate < 0.01"]

            [[class]]
            name = "legit"
            rate = 200
            connections = 16
            paths = ["/", "/api/items"]
            headers = { "User-Agent" = "levee-load" }
            source = "127.0.1.0/24"
            expect = "served"

            [[class]]
            name = "attack"
            connections = 64
            paths = "random"
            source = "127.1.0.1-127.1.3.232"
            identity = "x-forwarded-for"
            start = "5s"
            stop = "15s"
            wave_on = "1s"
            wave_off = "2s"
            expect = "blocked"

            [[class]]
            name = "slow"
            profile = "slowloris"
            trickle_interval = "500ms"
            hold = "10s"
            """)
        #expect(s.duration == 20_000_000_000 && s.threads == 2 && s.timeout == 2_000_000_000)
        #expect(s.classes.map(\.name) == ["legit", "attack", "slow"])
        #expect(s.classes[0].rate == 200 && s.classes[0].connections == 16 && s.classes[0].paths == ["/", "/api/items"])
        #expect(s.classes[0].source?.count == 254)
        #expect(s.classes[1].randomPaths && s.classes[1].identity == .forwardedFor && s.classes[1].source?.count == 1000)
        #expect(s.classes[1].start == 5_000_000_000 && s.classes[1].stop == 15_000_000_000 && s.classes[1].expect == .blocked)
        #expect(s.classes[2].profile == .slowloris(interval: 500_000_000, hold: 10_000_000_000))
        #expect(s.thresholds.map(\.metric) == ["success_rate", "p99_ms", "served_rate"])
        #expect(s.thresholds[1].comparison == .less && s.thresholds[0].comparison == .greaterOrEqual)
    }

    @Test func errorsNameTheField() {
        #expect(throws: LoadError.self) { try Scenario(toml: "target = \"http://127.0.0.1:1/\"\n[[class]]\nrate = \"fast\"\n") }
        do {
            _ = try Scenario(toml: "target = \"http://127.0.0.1:1/\"\n[[class]]\nname = \"a\"\nconections = 3\n")
            Issue.record("a misspelt key must be refused")
        } catch {
            #expect("\(error)".contains("conections"))
        }
        do {
            _ = try Scenario(toml: "target = \"http://127.0.0.1:1/\"\nthresholds = [\"b.p99_ms < 5\"]\n[[class]]\nname = \"a\"\n")
            Issue.record("a threshold on an unknown class must be refused")
        } catch {
            #expect("\(error)".contains("no class named b"))
        }
        #expect(throws: LoadError.self) { try SourceAddressRange("10.0.0.0/24") }
        #expect(throws: LoadError.self) { try Threshold("legit.p99 < 5") }
        #expect(throws: LoadError.self) { try Threshold("legit.p99_ms ~ 5") }
    }

    @Test func http2KeysAndRefusals() throws {
        let s = try Scenario(toml: "target = \"https://127.0.0.1:8443/\"\nhttp2 = true\nstreams = 8\n[[class]]\nname = \"a\"\n")
        #expect(s.http2 && s.streams == 8 && s.protocolName == "h2")
        let plain = try Scenario(toml: "target = \"https://127.0.0.1:8443/\"\n[[class]]\nname = \"a\"\n")
        #expect(!plain.http2 && plain.streams == 1 && plain.protocolName == "http/1.1")
        func refusal(_ toml: String) -> String? {
            do {
                _ = try Scenario(toml: toml)
                return nil
            } catch {
                return "\(error)"
            }
        }
        // No cleartext h2c: the proxy negotiates HTTP/2 only by ALPN over TLS.
        #expect(refusal("target = \"http://127.0.0.1:1/\"\nhttp2 = true\n[[class]]\nname = \"a\"\n")?.contains("needs an https:// target") == true)
        #expect(refusal("target = \"https://127.0.0.1:1/\"\nhttp2 = \"yes\"\n[[class]]\nname = \"a\"\n")?.contains("http2 must be true or false") == true)
        #expect(refusal("target = \"https://127.0.0.1:1/\"\nhttp2 = true\nstreams = 0\n[[class]]\nname = \"a\"\n")?.contains("streams must be") == true)
        let h2 = "target = \"https://127.0.0.1:1/\"\nhttp2 = true\n[[class]]\nname = \"a\"\n"
        #expect(refusal(h2 + "profile = \"slowloris\"\n")?.contains("slowloris") == true)
        #expect(refusal(h2 + "profile = \"slow-read\"\n")?.contains("slow-read") == true)
        #expect(refusal(h2 + "new_connection = true\n")?.contains("new_connection") == true)
        #expect(refusal(h2 + "source = \"127.0.3.0/30\"\nidentity = \"proxy-v1\"\n")?.contains("PROXY protocol") == true)
        // Identities that are plain headers or bound addresses work over HTTP/2.
        #expect(refusal(h2 + "source = \"127.0.3.0/30\"\nidentity = \"x-forwarded-for\"\n") == nil)
        #expect(refusal(h2 + "source = \"127.0.3.0/30\"\n") == nil)
    }

    @Test func sourceRangesAndDurations() throws {
        let r = try SourceAddressRange("127.0.5.0/30")
        #expect(r.count == 2 && r.addressText(0) == "127.0.5.1" && r.addressText(1) == "127.0.5.2" && r.addressText(2) == "127.0.5.1")
        #expect(try SourceAddressRange("127.0.0.9").count == 1)
        #expect(DurationParser.nanoseconds("1.5s") == 1_500_000_000)
        #expect(DurationParser.nanoseconds("250ms") == 250_000_000)
        #expect(DurationParser.nanoseconds("2m") == 120_000_000_000)
        #expect(DurationParser.nanoseconds("soon") == nil)
    }

    @Test(arguments: ["flood.toml", "waves.toml", "slow-clients.toml", "replay.toml"])
    func exampleScenariosParse(_ file: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("Benchmarks/scenarios/\(file)"), encoding: .utf8)
        let s = try Scenario(toml: text)
        #expect(!s.classes.isEmpty && s.target.isLoopback)
    }
}
