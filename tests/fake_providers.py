"""Local HTTP servers that replay the providers' documented request and response shapes.

Each records the requests it got, and answers from a script the test sets:
``server.script["POST /v1beta/models/m:predictLongRunning"] = [(429, {...}), (200, {...})]``
answers the first call with 429 and every later one with the last entry.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: dict | None


@dataclass
class FakeServer:
    files: dict[str, Path] = field(default_factory=dict)
    script: dict[str, list] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                fake.requests.append(
                    Recorded(self.command, self.path, dict(self.headers), json.loads(raw) if raw else None)
                )
                if self.command == "GET" and path in fake.files:
                    data = fake.files[path].read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Type", "video/mp4")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                steps = fake.script.get(f"{self.command} {path}")
                status, body, headers = (404, {"error": {"code": 404, "message": "not found"}}, {})
                if steps:
                    step = steps.pop(0) if len(steps) > 1 else steps[0]
                    status, body, *rest = step
                    headers = rest[0] if rest else {}
                payload = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def veo_operation(name: str, *, done: bool, uri: str | None = None, filtered: list[str] | None = None, error=None):
    """A google.longrunning.Operation as the Gemini API returns it for Veo."""
    operation: dict = {"name": name, "done": done}
    if error:
        operation["error"] = error
    elif done:
        response: dict = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"}
        if filtered:
            response["generateVideoResponse"] = {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": filtered}
        else:
            response["generateVideoResponse"] = {"generatedSamples": [{"video": {"uri": uri}}]}
        operation["response"] = response
    return operation
