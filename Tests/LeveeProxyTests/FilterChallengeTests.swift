import Testing

@testable import LeveeProxy

@Suite struct FilterChallengeTests {
    @Test func hmacSHA256KnownAnswersRFC4231() {
        // RFC 4231 test case 1 and 2.
        let one = HMACSHA256(key: Array(repeating: 0x0b, count: 20)).authenticate("Hi There")
        #expect(HMACSHA256.hex(one) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let two = HMACSHA256(key: Array("Jefe".utf8)).authenticate("what do ya want for nothing?")
        #expect(HMACSHA256.hex(two) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(HMACSHA256.hex(HMACSHA256.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(HMACSHA256.unhex("00ff10") == [0, 255, 16])
        #expect(HMACSHA256.unhex("0g") == nil)
        #expect(HMACSHA256.randomBytes(32) != HMACSHA256.randomBytes(32))
    }

    private let key = Array("0123456789abcdef0123456789abcdef".utf8)
    private func authority(difficulty: Int = 8) -> ChallengeAuthority {
        ChallengeAuthority(settings: ChallengeSettings(difficulty: difficulty, challengeLifetime: .seconds(300),
                                                       clearanceLifetime: .seconds(3600), key: key))
    }

    @Test func roundTripIssueSolveVerifyCookie() throws {
        let a = authority()
        let client = ClientAddress("203.0.113.10")!
        let now: Int64 = 1_800_000_000
        let token = a.issue(for: client, now: now)
        let nonce = try #require(ChallengeAuthority.solve(token: token, difficulty: 8))
        let cookie = try a.verify(token: token, nonce: nonce, client: client, now: now + 5).get()
        // The cookie makes the same client, and a neighbour in its /24, verified until it expires.
        #expect((try? a.validateClearance(cookie[...], client: client, now: now + 10).get()) != nil)
        #expect((try? a.validateClearance(cookie[...], client: ClientAddress("203.0.113.99")!, now: now + 10).get()) != nil)
        // Another key does not accept it (a restart with a random key invalidates old cookies).
        let other = ChallengeAuthority(settings: ChallengeSettings(key: Array(repeating: 1, count: 32)))
        #expect(other.validateClearance(cookie[...], client: client, now: now + 10) == .failure(.badSignature))
        #expect(a.setCookieValue(cookie).hasPrefix("levee_clearance=\(cookie); Path=/; Max-Age=3600; HttpOnly"))
    }

    @Test func tamperedExpiredAndWrongSubnetCookiesRejected() {
        let a = authority()
        let client = ClientAddress("2001:db8:1:2::5")!
        let now: Int64 = 1_800_000_000
        let cookie = a.clearance(for: client, now: now)
        #expect((try? a.validateClearance(cookie[...], client: ClientAddress("2001:db8:1:2::ffff")!, now: now).get()) != nil)
        #expect(a.validateClearance(cookie[...], client: ClientAddress("2001:db8:1:3::5")!, now: now) == .failure(.badSignature))
        #expect(a.validateClearance(cookie[...], client: client, now: now + 3601) == .failure(.expired))
        // Pushing the expiry forward breaks the signature.
        let parts = cookie.split(separator: ".")
        let extended = "\(Int64(parts[0])! + 100000).\(parts[1])"
        #expect(a.validateClearance(extended[...], client: client, now: now) == .failure(.badSignature))
        var flipped = Array(cookie.utf8)
        flipped[flipped.count - 1] = flipped.last == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(a.validateClearance(String(decoding: flipped, as: UTF8.self)[...], client: client, now: now) == .failure(.badSignature))
        #expect(a.validateClearance("nonsense", client: client, now: now) == .failure(.malformed))
    }

    @Test func badAnswersRejected() throws {
        let a = authority(difficulty: 12)
        let client = ClientAddress("198.51.100.20")!
        let now: Int64 = 1_800_000_000
        let token = a.issue(for: client, now: now)
        let nonce = try #require(ChallengeAuthority.solve(token: token, difficulty: 12))
        // A nonce that does not reach the difficulty.
        var wrong = 0
        while ChallengeAuthority.leadingZeroBits(HMACSHA256.sha256(Array((token + String(wrong)).utf8))) >= 12 { wrong += 1 }
        #expect(a.verify(token: token, nonce: String(wrong), client: client, now: now) == .failure(.insufficientWork))
        // Answered from another /24, too late, or with a lowered difficulty.
        #expect(a.verify(token: token, nonce: nonce, client: ClientAddress("198.51.101.20")!, now: now) == .failure(.badSignature))
        #expect(a.verify(token: token, nonce: nonce, client: client, now: now + 301) == .failure(.expired))
        let easier = token.replacingFirst(".12.", with: ".1.")
        #expect(a.verify(token: easier, nonce: "0", client: client, now: now) == .failure(.badSignature))
        #expect(a.verify(token: "1.2.3", nonce: nonce, client: client, now: now) == .failure(.malformed))
        #expect(a.verify(token: token, nonce: "12a", client: client, now: now) == .failure(.malformed))
    }

    @Test func pageCarriesTokenAndSafeReturnPath() {
        let html = ChallengePage.html(token: "1.2.3.ab.cd", difficulty: 16, verifyPath: "/.levee/challenge/verify", returnTo: "/a?b=</script>")
        #expect(html.contains("crypto.subtle.digest(\"SHA-256\""))
        #expect(html.contains("\"1.2.3.ab.cd\""))
        #expect(!html.contains("</script>\""))
        #expect(ChallengePage.safeReturnPath("//evil.example/x") == "/")
        #expect(ChallengePage.safeReturnPath("https://evil.example/") == "/")
        #expect(ChallengePage.safeReturnPath("/\\evil.example") == "/")
        #expect(ChallengePage.safeReturnPath("/ok?x=1") == "/ok?x=1")
        let items = ChallengePage.queryItems("c=1.2&n=42&r=%2Fpath%3Fq%3D1")
        #expect(items.map(\.name) == ["c", "n", "r"])
        #expect(items.map(\.value) == ["1.2", "42", "/path?q=1"])
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = firstRange(of: target) else { return self }
        var s = self
        s.replaceSubrange(r, with: replacement)
        return s
    }
}
