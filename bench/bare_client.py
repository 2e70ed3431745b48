"""The floor for a Python client: send one request to the daemon with pyzmq, print the answer."""
import sys

import zmq

sock = zmq.Context().socket(zmq.REQ)
sock.connect(sys.argv[1])
sock.send(sys.argv[2].encode())
print(sock.recv().decode())
