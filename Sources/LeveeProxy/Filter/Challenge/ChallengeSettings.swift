/// How the proof-of-work challenge behaves.
public struct ChallengeSettings: Sendable, Equatable {
    /// Leading zero bits SHA-256(challenge ‖ nonce) must have: each bit doubles the expected work
    /// (16 ≈ 65k hashes, well under a second in a browser).
    public var difficulty: Int
    /// How long an issued challenge may be answered.
    public var challengeLifetime: Duration
    /// How long the clearance cookie makes a client `verified`.
    public var clearanceLifetime: Duration
    public var cookieName: String
    /// The verification endpoint, answered by the filter itself.
    public var verifyPath: String
    /// HMAC key; nil generates 32 random bytes at start (cookies then die with the process).
    public var key: [UInt8]?
    /// Mark the cookie `Secure` (set when clients reach Levee over HTTPS).
    public var secureCookie: Bool

    public init(
        difficulty: Int = 16, challengeLifetime: Duration = .seconds(300), clearanceLifetime: Duration = .seconds(3600),
        cookieName: String = "levee_clearance", verifyPath: String = "/.levee/challenge/verify", key: [UInt8]? = nil,
        secureCookie: Bool = false
    ) {
        self.difficulty = difficulty
        self.challengeLifetime = challengeLifetime
        self.clearanceLifetime = clearanceLifetime
        self.cookieName = cookieName
        self.verifyPath = verifyPath
        self.key = key
        self.secureCookie = secureCookie
    }
}
