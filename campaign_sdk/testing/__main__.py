"""``python -m campaign_sdk.testing``: run the local Twilio server until stdin closes or SIGTERM.

Prints one line, ``READY <url> <account_sid> <auth_token>``, once it listens. The state is
available as JSON at ``<url>/_test/state``; faults are added by POSTing a Fault as JSON to
``<url>/_test/faults``; ``{"content_sid", "status", "reason"}`` POSTed to ``<url>/_test/approval``
sets a WhatsApp approval status.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from campaign_sdk.testing._server import TwilioTestServer


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m campaign_sdk.testing", description=__doc__)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with TwilioTestServer(latency=args.latency, port=args.port) as server:
        print(f"READY {server.url} {server.account_sid} {server.auth_token}", flush=True)
        def until_stdin_closes() -> None:
            sys.stdin.read()
            done.set()

        threading.Thread(target=until_stdin_closes, daemon=True).start()
        done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
