import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The JSON-lines access log. `log(_:)` is what the data path calls once per completed response:
/// it only appends the entry to a bounded in-memory buffer under a short lock, never touching the
/// file on an event loop. `run()` (a `Service`) writes the buffer out every `flushInterval`, and
/// once more after graceful shutdown. When the buffer is full (the disk cannot keep up) entries
/// are dropped and counted (`droppedEntries`) rather than slowing the proxy down.
///
/// The path `-` means standard output. `reopen()` (called on reload) reopens the file, so that
/// log rotation works with `mv access.log access.log.1; kill -HUP $(pidof levee)`.
public final class AccessLogger: Service {
    public let path: String
    private let capacity: Int
    private let flushInterval: Duration
    private let logger: Logger
    private let pending: Mutex<[AccessLogEntry]>
    private let dropped = Atomic<Int>(0)
    private let output: Mutex<FileHandle?>

    /// - Parameters:
    ///   - capacity: entries held between two flushes; more are dropped and counted.
    public init(path: String, capacity: Int = 65_536, flushInterval: Duration = .milliseconds(200), logger: Logger) {
        self.path = path
        self.capacity = capacity
        self.flushInterval = flushInterval
        self.logger = logger
        var initial: [AccessLogEntry] = []
        initial.reserveCapacity(min(capacity, 4096))
        self.pending = Mutex(initial)
        self.output = Mutex(nil)
    }

    /// Entries dropped because the buffer was full.
    public var droppedEntries: Int { dropped.load(ordering: .relaxed) }

    /// Queues one entry; cheap and non-blocking apart from a short lock.
    public func log(_ entry: AccessLogEntry) {
        let accepted = pending.withLock { buffer -> Bool in
            guard buffer.count < capacity else { return false }
            buffer.append(entry)
            return true
        }
        if !accepted { dropped.add(1, ordering: .relaxed) }
    }

    /// Opens the file (creating it) or selects standard output. Called by `run()`; call it before
    /// to fail early on a bad path.
    public func open() throws {
        let handle: FileHandle
        if path == "-" {
            handle = FileHandle.standardOutput
        } else {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw AccessLogError(path: path, reason: "cannot create the file")
                }
            }
            guard let file = FileHandle(forWritingAtPath: path) else {
                throw AccessLogError(path: path, reason: "cannot open the file for writing")
            }
            file.seekToEndOfFile()
            handle = file
        }
        let previous = output.withLock { current in
            defer { current = handle }
            return current
        }
        if let previous, previous !== FileHandle.standardOutput { try? previous.close() }
    }

    /// Reopens the file (after log rotation).
    public func reopen() {
        flush()
        do { try open() } catch { logger.error("access log: \(error)") }
    }

    /// Writes everything queued so far.
    public func flush() {
        let entries = pending.withLock { buffer -> [AccessLogEntry] in
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        guard !entries.isEmpty else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * 200)
        for entry in entries { entry.appendJSONLine(to: &bytes) }
        output.withLock { handle in
            do {
                try handle?.write(contentsOf: Data(bytes))
            } catch {
                logger.error("access log write failed", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
    }

    public func run() async throws {
        if output.withLock({ $0 == nil }) { try open() }
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: self.flushInterval)
                self.flush()
            }
        }
        flush()
        let handle = output.withLock { $0 }
        if let handle, handle !== FileHandle.standardOutput { try? handle.synchronize() }
    }
}

/// The access log file could not be opened.
public struct AccessLogError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "access log \(path): \(reason)" }
}
