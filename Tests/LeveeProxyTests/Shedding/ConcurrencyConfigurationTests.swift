import NIOCore
import Testing

@testable import LeveeProxy

@Suite struct ConcurrencyConfigurationTests {
    private func parse(_ concurrency: String) throws(ConfigurationErrors) -> ProxyConfiguration {
        try ProxyConfiguration.parse(
            """
            [[route]]
            upstream = "app"

            [upstream.app]
            backends = ["127.0.0.1:9000"]

            [upstream.app.concurrency]
            \(concurrency)
            """, file: "t.toml")
    }

    private func errors(_ concurrency: String) -> [ConfigurationError] {
        do {
            _ = try parse(concurrency)
            return []
        } catch {
            return error.errors
        }
    }

    @Test func everyFieldDecodes() throws {
        let configuration = try parse(
            """
            adaptive = true
            min_limit = 2
            max_limit = 64
            initial_limit = 8
            queue = 500
            queue_timeout = "250ms"
            retry_after = "2s"
            """)
        let concurrency = try #require(configuration.upstreams["app"]?.concurrency)
        #expect(concurrency == ConcurrencyConfiguration(
            adaptive: true, minLimit: 2, maxLimit: 64, initialLimit: 8, queue: 500,
            queueTimeout: .milliseconds(250), retryAfter: .seconds(2)))
    }

    @Test func defaultsAndOff() throws {
        let defaults = try #require(try parse("").upstreams["app"]?.concurrency)
        #expect(defaults == ConcurrencyConfiguration())
        #expect(defaults.queue == 1000 && defaults.queueTimeout == .seconds(1))
        // Bounds given without an initial limit: it starts inside them.
        let small = try #require(try parse("max_limit = 3").upstreams["app"]?.concurrency)
        #expect(small.initialLimit == 3 && small.minLimit == 3)
        #expect(try parse("enabled = false").upstreams["app"]?.concurrency == nil)
        let noSection = try ProxyConfiguration.parse(
            "[[route]]\nupstream = \"app\"\n[upstream.app]\nbackends = [\"127.0.0.1:9000\"]\n", file: "t.toml")
        #expect(noSection.upstreams["app"]?.concurrency == nil)
    }

    @Test func badValuesAreNamedWithTheirLine() {
        let crossed = errors("min_limit = 10\nmax_limit = 5\ninitial_limit = 7")
        #expect(crossed.contains { $0.field == "upstream.app.concurrency.max_limit" && $0.message.contains("smaller than min_limit") })
        #expect(crossed.contains { $0.field == "upstream.app.concurrency.initial_limit" && $0.line == 10 })

        let ranges = errors("min_limit = 0\nqueue = -1\nqueue_timeout = \"0s\"\nadaptive = \"yes\"")
        #expect(ranges.contains { $0.field == "upstream.app.concurrency.min_limit" && $0.message.contains("out of range") })
        #expect(ranges.contains { $0.field == "upstream.app.concurrency.queue" })
        #expect(ranges.contains { $0.field == "upstream.app.concurrency.queue_timeout" && $0.message.contains("greater than zero") })
        #expect(ranges.contains { $0.field == "upstream.app.concurrency.adaptive" })

        let typo = errors("max_limt = 5")
        #expect(typo.contains { $0.field == "upstream.app.concurrency.max_limt" && $0.message.contains("max_limit") })
    }
}
