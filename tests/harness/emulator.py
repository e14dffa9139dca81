"""Starts the AWS emulator (moto server, pinned to 5.2.5) on a loopback port.

Usage: emulator.py --port N [--account ID]

Prints `ready http://127.0.0.1:N` once it answers, then serves until SIGTERM/SIGINT or until
its parent dies (it polls, so a killed test run leaves nothing behind).

What it simulates is moto's behaviour as is; see docs/testing.md for what moto's ECS does not
do (rollouts, task exit codes), which the rollout issue adds here.
"""

import argparse
import os
import signal
import sys
import threading
import time
import urllib.request


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--account", default=None)
    args = ap.parse_args()
    if args.account:
        os.environ["MOTO_ACCOUNT_ID"] = args.account
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{args.port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2).read()
            break
        except Exception:
            if time.monotonic() > deadline:
                print("emulator did not start within 30s", file=sys.stderr)
                return 1
            time.sleep(0.1)
    print(f"ready {url}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.wait(0.5):
        if os.getppid() != parent:
            break
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
