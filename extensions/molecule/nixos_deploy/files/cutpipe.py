# An SSH ProxyCommand that drops the connection after LIMIT bytes were sent (a copy cut midway) and
# writes how many it sent into MARKER: cutpipe.py HOST PORT LIMIT MARKER
import os
import socket
import sys
import threading

host, port, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conn = socket.create_connection((host, port))


def upload():
    sent = 0
    while True:
        data = os.read(0, 16384)
        if not data:
            os._exit(0)
        if sent > limit:
            # Leave proof that the copy was under way when it was cut.
            with open(sys.argv[4], 'w') as marker:
                marker.write('%d\n' % sent)
            os._exit(0)
        conn.sendall(data)
        sent += len(data)


threading.Thread(target=upload, daemon=True).start()
while True:
    data = conn.recv(65536)
    if not data:
        break
    os.write(1, data)
