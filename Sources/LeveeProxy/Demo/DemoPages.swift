/// Static content of the demo backend.
enum DemoPages {
    static let index = """
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><title>Levee demo backend</title></head>
        <body>
        <h1>It works: this page came through Levee.</h1>
        <p>This is the built-in demo backend. Try:</p>
        <ul>
        <li><a href="/api/hello">/api/hello</a> (JSON)</li>
        <li><a href="/bytes/1024">/bytes/1024</a> (N bytes)</li>
        <li><a href="/slow?ms=500">/slow?ms=500</a> (a slow answer)</li>
        <li><a href="/status/503">/status/503</a> (any status)</li>
        <li><code>curl --data-binary @file http://127.0.0.1:8080/echo</code> (echo)</li>
        </ul>
        <p>Metrics: <code>curl http://127.0.0.1:9901/metrics</code></p>
        </body>
        </html>

        """
}
