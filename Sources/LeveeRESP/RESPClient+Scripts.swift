import NIOCore

extension RESPClient {
    /// Runs `script` with `EVALSHA`; on `NOSCRIPT`, loads it with `SCRIPT LOAD` and retries once.
    /// The future completes with the script's reply.
    public func submitScript(_ script: RESPScript, keys: [String], arguments: [String]) -> EventLoopFuture<RESPValue> {
        let command = RESPValue.command(["EVALSHA", script.sha1, String(keys.count)] + keys + arguments)
        return submit(command).flatMapError { error in
            guard case RESPError.server(code: "NOSCRIPT", _) = error else {
                return self.eventLoop.makeFailedFuture(error)
            }
            return self.submit(["SCRIPT", "LOAD", script.source]).flatMap { reply in
                guard reply.string == script.sha1 else {
                    return self.eventLoop.makeFailedFuture(RESPError.unexpectedReply(reply))
                }
                return self.submit(command)
            }
        }
    }

    /// Runs `script` with `EVALSHA` (loading it on `NOSCRIPT`) and waits for the reply.
    public func evalSHA(_ script: RESPScript, keys: [String], arguments: [String]) async throws -> RESPValue {
        try await submitScript(script, keys: keys, arguments: arguments).get()
    }
}
