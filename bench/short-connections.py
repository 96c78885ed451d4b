#!/usr/bin/env python3
# A busy local server in miniature (bench/journey-connections.sh): N short TCP
# connections on 127.0.0.1, one after the other, each one request and one
# answer, then closed; GAP seconds between them.
#   short-connections.py N [GAP]
import socket, sys, threading, time
n = int(sys.argv[1]); gap = float(sys.argv[2]) if len(sys.argv) > 2 else 0
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(128); port = srv.getsockname()[1]
def serve():
    for _ in range(n):
        c, _ = srv.accept(); d = c.recv(100); c.sendall(b"pong" + d[:10]); c.close()
t = threading.Thread(target=serve); t.start()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"ping %d" % i); s.recv(100); s.close()
    if gap: time.sleep(gap)
t.join()
