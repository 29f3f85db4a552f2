// Helpers shared by the test targets: loopback backends, raw HTTP clients, hashing.
