#!/usr/bin/env python3
"""A minimal receiver for SoraiPixel webhooks that checks every signature.

SoraiPixel signs deliveries the Standard Webhooks way: the `webhook-signature` header
holds `v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed
with the base64-decoded part of your endpoint's secret after `whsec_`. A retry carries the
same `webhook-id`, so keep the ids you have handled and drop repeats.

    WEBHOOK_SECRET=whsec_... python3 examples/webhook_receiver.py 8080

It prints one JSON line per verified event and answers 204; a bad signature or an old
timestamp gets 400. Standard library only.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

# Refuse deliveries signed more than five minutes ago (replays).
TOLERANCE_SECONDS = 300


def verify(secret: str, msg_id: str, timestamp: str, signatures: str, body: bytes) -> bool:
    if not (msg_id and timestamp.isdigit() and signatures):
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # The header may hold several space-separated signatures (during a secret rotation).
    return any(
        hmac.compare_digest(expected, sig.split(",", 1)[1])
        for sig in signatures.split()
        if sig.startswith("v1,")
    )


class Receiver(BaseHTTPRequestHandler):
    seen: set[str] = set()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        h = self.headers
        ok = verify(
            os.environ["WEBHOOK_SECRET"],
            h.get("webhook-id", ""),
            h.get("webhook-timestamp", ""),
            h.get("webhook-signature", ""),
            body,
        )
        if not ok:
            print(json.dumps({"verified": False}), flush=True)
            self.send_response(400)
            self.end_headers()
            return
        msg_id = h["webhook-id"]
        event = json.loads(body)
        repeat = msg_id in self.seen
        self.seen.add(msg_id)
        print(json.dumps({"verified": True, "id": msg_id, "type": event["type"], "repeat": repeat}), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:  # keep stdout for events
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    print(json.dumps({"listening": port}), flush=True)
    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
