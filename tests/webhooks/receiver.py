"""A webhook receiver for the tests: verifies every delivery with the
reference `standardwebhooks` package (pinned in tests/requirements.txt).

Listens on 127.0.0.1, port 0, and prints the port on its first stdout line.
- POST /_control {"secrets": [...], "plan": [{"status": 500}, ...]}: the
  secrets to verify with (each checked on its own) and answers to give to the
  next deliveries, in order (`retry_after` adds a Retry-After header,
  `delay` answers that many seconds late, `location` adds a Location header);
  afterwards deliveries are answered 200.
- GET /_deliveries: every delivery so far, in order of arrival.
- Any other POST is a delivery: recorded with its headers, whether each
  secret verifies it, and when it came (unix seconds, float).
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

LOCK = threading.Lock()
STATE = {"secrets": [], "plan": [], "deliveries": []}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_deliveries":
            with LOCK:
                body = json.dumps(STATE["deliveries"])
            self.answer(200, body, {"content-type": "application/json"})
        else:
            self.answer(404, "not found")

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        if self.path == "/_control":
            control = json.loads(body or b"{}")
            with LOCK:
                if "secrets" in control:
                    STATE["secrets"] = control["secrets"]
                STATE["plan"].extend(control.get("plan", []))
            self.answer(204, b"")
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        with LOCK:
            secrets = list(STATE["secrets"])
        verified = []
        for secret in secrets:
            try:
                Webhook(secret).verify(body, headers)
                verified.append(True)
            except Exception:  # noqa: BLE001 - any failure means "not verified"
                verified.append(False)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        with LOCK:
            answer = STATE["plan"].pop(0) if STATE["plan"] else {"status": 200}
            STATE["deliveries"].append(
                {
                    "path": self.path,
                    "at": time.time(),
                    "id": headers.get("webhook-id"),
                    "timestamp": headers.get("webhook-timestamp"),
                    "signature": headers.get("webhook-signature"),
                    "verified": verified,
                    "payload": payload,
                    "answered": answer["status"],
                }
            )
        if "delay" in answer:
            time.sleep(answer["delay"])
        extra = {}
        if "retry_after" in answer:
            extra["retry-after"] = str(answer["retry_after"])
        if "location" in answer:
            extra["location"] = answer["location"]
        self.answer(answer["status"], "answer %d" % answer["status"], extra)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    # Stop when the test that started us goes away (stdin closes).
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
