"""The official OpenAI Python SDK, in strict validation mode, against the real proxy binary.

A fake OpenAI-compatible upstream runs on 127.0.0.1:0 in this process and replays the files in
fixtures/upstream; the proxy binary is started with a model list pointing at it. Run through
`make sdk-test` (it installs the pinned SDK into .venv). Exits non-zero on the first failure.
"""

import http.server
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import threading

import openai

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "fixtures" / "upstream"
TOKEN = "tok-sdk"
seen = []


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        seen.append((self.path, self.headers.get("Authorization")))
        if self.path == "/v1/models":
            self.reply(200, "application/json", (FIX / "models.json").read_bytes())
        else:
            self.reply(404, "application/json", b'{"error":{"message":"no"}}')

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        seen.append((self.path, self.headers.get("Authorization")))
        if body.get("stream"):
            data = (FIX / "chat-stream.sse").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for i in range(0, len(data), 41):
                self.wfile.write(data[i : i + 41])
                self.wfile.flush()
            self.close_connection = True
        else:
            self.reply(200, "application/json", (FIX / "chat.json").read_bytes())


def main():
    binary = str(pathlib.Path(sys.argv[1]).resolve())
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    work = tempfile.mkdtemp()
    config = pathlib.Path(work) / "litellm_config.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: demo\n    litellm_params: {model: openai/demo, mock_response: 'Hi from the demo'}\n"
        f"  - model_name: '*'\n    litellm_params: {{model: openai/*, api_base: 'http://127.0.0.1:{upstream.server_port}/v1', api_key: sk-upstream}}\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "LOCAL_AUTH_TOKEN": TOKEN, "HOST": "127.0.0.1", "PORT": "0"}
    proxy = subprocess.Popen([binary, "--config", str(config)], env=env, cwd=work, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in proxy.stderr:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        assert port, "proxy did not start"
        threading.Thread(target=lambda: [None for _ in proxy.stderr], daemon=True).start()
        passed, failed = run(f"http://127.0.0.1:{port}/v1")
    finally:
        proxy.terminate()
        proxy.wait(5)
    print(f"openai SDK: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


def checks(base):
    """Each check is a named function; all run, failures are reported together."""
    client = openai.OpenAI(base_url=base, api_key=TOKEN, max_retries=0, _strict_response_validation=True)

    def models_list_merges_demo_and_upstream():
        ids = [m.id for m in client.models.list()]
        assert ids == ["demo", "gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "claude-sonnet-4-20250514"], ids

    def model_retrieve():
        assert client.models.retrieve("gpt-4o").owned_by == "system"

    def chat_non_streamed():
        r = client.chat.completions.create(model="gemini-2.5-pro", messages=[{"role": "user", "content": "hi"}])
        assert r.choices[0].message.content.startswith("用户点击了"), r
        assert r.usage.total_tokens == 21

    def chat_streamed_with_usage():
        chunks = list(
            client.chat.completions.create(
                model="gemini-2.5-pro",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "用户点击了确定后 会卡住半天 — so `submitAnswer` is called twice.\n", text
        assert chunks[-1].usage.total_tokens == 42

    def demo_model_non_streamed():
        r = client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "hi"}])
        assert r.choices[0].message.content == "Hi from the demo"

    def demo_model_streamed():
        stream = client.chat.completions.create(model="demo", messages=[], stream=True)
        demo = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert demo == "Hi from the demo", demo

    def wrong_key_is_authentication_error():
        try:
            openai.OpenAI(base_url=base, api_key="wrong", max_retries=0).models.list()
        except openai.AuthenticationError as e:
            assert e.code == "invalid_api_key"
        else:
            raise AssertionError("wrong key accepted")

    def unknown_model_is_not_found():
        try:
            client.models.retrieve("no-such-model")
        except openai.NotFoundError as e:
            assert e.code == "model_not_found"
        else:
            raise AssertionError("unknown model found")

    def upstream_saw_only_the_upstream_key():
        assert seen and all(auth == "Bearer sk-upstream" for _, auth in seen), seen

    return [v for k, v in locals().items() if callable(v) and k not in ("client",)]


def run(base):
    passed = failed = 0
    for check in checks(base):
        try:
            check()
            passed += 1
            print(f"ok   {check.__name__}")
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            failed += 1
            print(f"FAIL {check.__name__}: {e!r}")
    return passed, failed


if __name__ == "__main__":
    main()
