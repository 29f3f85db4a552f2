#!/usr/bin/env python3
"""Costs a server's CPU for request heads sent in tiny pieces (loopback only, bounded).

Usage: Benchmarks/peers/slow-head.py PORT PID [CLIENTS=20] [PIECE=2]
CLIENTS connections to 127.0.0.1:PORT each send a ~16 KB request head (100 fields of 150 bytes)
PIECE bytes per send (TCP_NODELAY), interleaved, then read the status line. Prints the CPU time
(utime + stime from /proc/PID/stat) the server spent. The server must allow heads this large
(for Levee: [limits] max_header_bytes = "64KB", max_headers = 200, header_timeout = "60s").
"""
import socket
import sys
import time

port, pid = int(sys.argv[1]), int(sys.argv[2])
clients = int(sys.argv[3]) if len(sys.argv) > 3 else 20
piece = int(sys.argv[4]) if len(sys.argv) > 4 else 2


def cpu_ms():
    fields = open(f"/proc/{pid}/stat").read().split()
    return (int(fields[13]) + int(fields[14])) * 1000 // 100


head = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 150) for i in range(100)) + b"\r\n"
before, started = cpu_ms(), time.time()
socks = []
for _ in range(clients):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    socks.append(s)
for i in range(0, len(head), piece):
    for s in socks:
        s.sendall(head[i:i + piece])
statuses = set()
for s in socks:
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    statuses.add(data.split(b"\r\n")[0].decode(errors="replace"))
    s.close()
print(f"head {len(head)} bytes x {clients} clients in {piece}-byte sends: server CPU {cpu_ms() - before} ms, "
      f"wall {time.time() - started:.1f} s, answers {sorted(statuses)}")
