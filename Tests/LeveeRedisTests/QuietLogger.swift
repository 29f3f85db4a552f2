import Logging

/// A logger that only shows errors, so that expected reconnects do not flood the test output.
let quietLogger: Logger = {
    var logger = Logger(label: "levee.redis.test")
    logger.logLevel = .error
    return logger
}()
