"""Python `websockets`'s side of the permessage-deflate comparison (run.sh
runs it).

    python websockets_peer.py CORPUS [ROUNDS] [ROUND_SECONDS]

The same operation as sockeye's `deflate-peers`: each message of the corpus
(one a line) compressed by one PerMessageDeflate (the sender's) and inflated
by another (the receiver's), one frame at a time, with context takeover and
without it; level 6, memory level 8, window 15 set explicitly (websockets
itself defaults to window 12 and memory level 5). Best round's rate, ratio
from the first pass.
"""

import sys
import time

from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode


def pair(no_takeover):
    settings = {"level": 6, "memLevel": 8}
    sender = PerMessageDeflate(no_takeover, no_takeover, 15, 15, settings)
    receiver = PerMessageDeflate(no_takeover, no_takeover, 15, 15, settings)
    return sender, receiver


def one_pass(sender, receiver, corpus):
    compressed = 0
    for message in corpus:
        frame = sender.encode(Frame(Opcode.TEXT, message))
        compressed += len(frame.data)
        inflated = receiver.decode(frame)
        if len(inflated.data) != len(message):
            raise SystemExit("round trip changed the message")
    return compressed


def main():
    path = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    round_seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 0.4
    with open(path, "rb") as f:
        corpus = [line for line in f.read().split(b"\n") if line]
    payload = sum(len(m) for m in corpus)
    for mode, no_takeover in (("takeover", False), ("no_takeover", True)):
        sender, receiver = pair(no_takeover)
        compressed = one_pass(sender, receiver, corpus)
        best = 0.0
        for _ in range(rounds):
            start = time.perf_counter()
            passes = 0
            while time.perf_counter() - start < round_seconds:
                one_pass(sender, receiver, corpus)
                passes += 1
            elapsed = time.perf_counter() - start
            best = max(best, payload * passes / elapsed / 1e6)
        print(f"websockets\t{mode}\t{best:.1f}\t{compressed / payload:.3f}")


if __name__ == "__main__":
    main()
