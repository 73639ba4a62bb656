"""Claude Code itself, headless and offline, through the proxy to an OpenAI-compatible upstream.

A fake OpenAI upstream on 127.0.0.1:0 is scripted like a model: the first turn calls Claude
Code's `Read` tool on hello.txt; once the tool result comes back, it answers with the file's
content. Claude Code runs `claude -p ... --output-format json` with ANTHROPIC_BASE_URL at the
proxy. Passes when the final result quotes the file, which only happens if the tool round trip
worked both ways through the translation.

Usage: claude_code.py PROXY_BINARY CLAUDE_BINARY
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

calls = []


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        calls.append(body)
        result = next((m["content"] for m in body["messages"] if m["role"] == "tool"), None)
        tools = [t["function"]["name"] for t in body.get("tools") or []]
        model = body["model"]

        def chunk(delta, finish=None):
            c = {"id": "chatcmpl-cc", "object": "chat.completion.chunk", "created": 1, "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return f"data: {json.dumps(c)}\n\n"

        if result is None and "Read" in tools:
            args = json.dumps({"file_path": self.server.hello})
            events = [chunk({"role": "assistant", "content": ""}),
                      chunk({"tool_calls": [{"index": 0, "id": "call_read", "type": "function", "function": {"name": "Read", "arguments": ""}}]}),
                      chunk({"tool_calls": [{"index": 0, "function": {"arguments": args}}]}),
                      chunk({}, "tool_calls")]
        else:
            text = f"The file says: {result}" if result else "OK"
            events = [chunk({"role": "assistant", "content": text}), chunk({}, "stop")]
        usage = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
        events.append("data: " + json.dumps({"id": "chatcmpl-cc", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [], "usage": usage}) + "\n\n")
        events.append("data: [DONE]\n\n")
        data = "".join(events).encode()
        if not body.get("stream"):
            msg = {"role": "assistant", "content": "OK"}
            data = json.dumps({"id": "chatcmpl-cc", "object": "chat.completion", "created": 1, "model": model,
                               "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}], "usage": usage}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if body.get("stream") else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    proxy_bin, claude_bin = (str(pathlib.Path(p).resolve()) for p in sys.argv[1:3])
    work = pathlib.Path(tempfile.mkdtemp())
    (work / "project").mkdir()
    hello = work / "project" / "hello.txt"
    hello.write_text("hello world file\n")
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    upstream.hello = str(hello)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    (work / "litellm_config.yaml").write_text(
        f"model_list:\n  - model_name: '*'\n    litellm_params: {{model: openai/*, api_base: 'http://127.0.0.1:{upstream.server_port}/v1', api_key: sk-upstream}}\n")
    env = {"PATH": os.environ.get("PATH", ""), "LOCAL_AUTH_TOKEN": "tok-cc", "HOST": "127.0.0.1", "PORT": "0"}
    proxy = subprocess.Popen([proxy_bin], env=env, cwd=work, stderr=subprocess.PIPE, text=True)
    port = None
    for line in proxy.stderr:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m:
            port = m.group(1)
            break
    log = []
    threading.Thread(target=lambda: log.extend(proxy.stderr), daemon=True).start()
    cc_env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(work / "home"),
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}", "ANTHROPIC_API_KEY": "tok-cc",
        "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    (work / "home").mkdir()
    try:
        run = subprocess.run([claude_bin, "-p", "Read hello.txt and tell me what it says.", "--output-format", "json",
                              "--allowedTools", "Read", "--model", "gpt-4o"],
                             env=cc_env, cwd=work / "project", capture_output=True, text=True, timeout=120)
    finally:
        proxy.terminate()
        proxy.wait(5)
    print("claude exit:", run.returncode)
    print(run.stdout[-2000:])
    if run.returncode != 0:
        print(run.stderr[-2000:])
    print("".join(log[-20:]))
    result = json.loads(run.stdout).get("result", "") if run.stdout.strip().startswith("{") else ""
    tool_turns = sum(1 for c in calls if any(m["role"] == "tool" for m in c["messages"]))
    ok = "hello world file" in result and tool_turns >= 1
    print(f"Claude Code: {1 if ok else 0} passed, {0 if ok else 1} failed")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
