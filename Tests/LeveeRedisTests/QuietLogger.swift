import LeveeRESP
import Logging
import NIOPosix
import NIOSSL

/// A logger that only shows errors, so that expected reconnects do not flood the test output.
let quietLogger: Logger = {
    var logger = Logger(label: "levee.redis.test")
    logger.logLevel = .error
    return logger
}()

/// A client for tests against a local redis-server: patient timeouts, fast reconnects, quiet logs.
func testRESPClient(
    port: Int, password: String? = nil, username: String? = nil, database: Int = 0,
    tls: TLSConfiguration? = nil, tlsServerName: String? = nil
) -> RESPClient {
    RESPClient(
        configuration: RESPClientConfiguration(
            port: port, connectTimeout: .seconds(5), commandTimeout: .seconds(5),
            backoff: RESPBackoff(initial: .milliseconds(10), maximum: .milliseconds(50)),
            password: password, username: username, database: database, tls: tls, tlsServerName: tlsServerName),
        eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: quietLogger)
}
