import Levee
/// The HTML page that makes a browser prove some work, and the query of its answer.
///
/// The script hashes `token + nonce` with WebCrypto (`crypto.subtle.digest("SHA-256", …)`) for
/// nonce = 0, 1, 2 … until the digest has `difficulty` leading zero bits, then navigates to the
/// verification endpoint, which sets the clearance cookie and redirects back. WebCrypto needs a
/// secure context: HTTPS, or `localhost`/loopback over plain HTTP.
public enum ChallengePage {
    /// The page for one challenge. `returnTo` is where to go once verified (a local path).
    public static func html(token: String, difficulty: Int, verifyPath: String, returnTo: String) -> String {
        let t = RateLimitResponse.jsonString(token)
        let v = RateLimitResponse.jsonString(verifyPath)
        let r = RateLimitResponse.jsonString(safeReturnPath(returnTo))
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
            <meta name="viewport" content="width=device-width,initial-scale=1">
            <title>Checking your browser</title></head>
            <body><h1>Checking your browser…</h1>
            <p id="status">This takes a moment and happens once.</p>
            <noscript><p>Please enable JavaScript to continue.</p></noscript>
            <script>
            (async function () {
              const token = \(t), bits = \(difficulty), verify = \(v), back = \(r);
              const enc = new TextEncoder();
              function zeros(d) { let n = 0; for (const b of d) { if (b === 0) { n += 8; continue; } return n + Math.clz32(b) - 24; } return n; }
              if (!(window.crypto && crypto.subtle)) { document.getElementById("status").textContent = "This check needs HTTPS."; return; }
              for (let n = 0; ; n++) {
                const d = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(token + n)));
                if (zeros(d) >= bits) {
                  location.replace(verify + "?c=" + encodeURIComponent(token) + "&n=" + n + "&r=" + encodeURIComponent(back));
                  return;
                }
              }
            })();
            </script></body></html>

            """
    }

    /// A redirect target that stays on this site: a path starting with one `/` (no `//host`,
    /// no `/\\host`, no scheme), else `/`. Prevents the verification endpoint from becoming an
    /// open redirect.
    public static func safeReturnPath(_ path: String) -> String {
        guard path.hasPrefix("/"), !path.hasPrefix("//"), !path.hasPrefix("/\\"),
              path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else { return "/" }
        return path
    }

    /// Decodes an `application/x-www-form-urlencoded` query (`a=1&b=%2F`) into pairs.
    public static func queryItems(_ query: Substring) -> [(name: String, value: String)] {
        query.split(separator: "&").map { item in
            if let eq = item.firstIndex(of: "=") {
                return (percentDecoded(item[..<eq]), percentDecoded(item[item.index(after: eq)...]))
            }
            return (percentDecoded(item), "")
        }
    }

    static func percentDecoded(_ s: Substring) -> String {
        var out: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "%"), i + 2 < u.count, let h = ClientAddress.hexValue(u[i + 1]), let l = ClientAddress.hexValue(u[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(u[i] == UInt8(ascii: "+") ? UInt8(ascii: " ") : u[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
