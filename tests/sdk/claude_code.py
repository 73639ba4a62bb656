"""Claude Code itself, headless and offline, through the proxy to an OpenAI-compatible upstream
(translated) and to an Anthropic one (passed through).

A fake upstream on 127.0.0.1:0 speaks both dialects and is scripted like a model: the first turn
calls Claude Code's `Read` tool on hello.txt; once the tool result comes back, it answers with the
file's content. Claude Code runs `claude -p ... --output-format json` with ANTHROPIC_BASE_URL at the
proxy, once per upstream. Each passes when the final result quotes the file, which only happens if
the tool round trip worked both ways.

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
paths = []


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        calls.append(body)
        paths.append(self.path)
        if self.path.startswith("/v1/messages"):
            return self.anthropic(body)
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
        self.reply(data, body.get("stream"))

    def reply(self, data, stream):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if stream else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def anthropic(self, body):
        """The same script in Anthropic Messages, as Anthropic streams it."""
        if self.path.startswith("/v1/messages/count_tokens"):
            return self.reply(b'{"input_tokens": 100}', False)
        results = [b for m in body["messages"] if m["role"] == "user" and isinstance(m["content"], list)
                   for b in m["content"] if b.get("type") == "tool_result"]
        result = None
        if results:
            c = results[-1].get("content")
            result = c if isinstance(c, str) else "".join(p.get("text", "") for p in c or [])
        tools = [t.get("name") for t in body.get("tools") or []]
        if result is None and "Read" in tools:
            block = {"type": "tool_use", "id": "toolu_read", "name": "Read", "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps({"file_path": self.server.hello})}
            stop, whole = "tool_use", dict(block, input={"file_path": self.server.hello})
        else:
            text = f"The file says: {result}" if result else "OK"
            block, delta = {"type": "text", "text": ""}, {"type": "text_delta", "text": text}
            stop, whole = "end_turn", {"type": "text", "text": text}
        message = {"id": "msg_cc", "type": "message", "role": "assistant", "model": body["model"], "content": [],
                   "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 100, "output_tokens": 1}}
        if not body.get("stream"):
            done = dict(message, content=[whole], stop_reason=stop, usage={"input_tokens": 100, "output_tokens": 10})
            return self.reply(json.dumps(done).encode(), False)
        events = [("message_start", {"type": "message_start", "message": message}),
                  ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
                  ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
                  ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                  ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": {"output_tokens": 10}}),
                  ("message_stop", {"type": "message_stop"})]
        self.reply("".join(f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in events).encode(), True)


def main():
    proxy_bin, claude_bin = (str(pathlib.Path(p).resolve()) for p in sys.argv[1:3])
    work = pathlib.Path(tempfile.mkdtemp())
    (work / "project").mkdir()
    hello = work / "project" / "hello.txt"
    hello.write_text("hello world file\n")
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    upstream.hello = str(hello)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{upstream.server_port}"
    (work / "litellm_config.yaml").write_text(
        f"model_list:\n  - model_name: 'claude-*'\n    litellm_params: {{model: anthropic/*, api_base: '{base}', api_key: sk-upstream}}\n"
        f"  - model_name: '*'\n    litellm_params: {{model: openai/*, api_base: '{base}/v1', api_key: sk-upstream}}\n")
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
    passed = failed = 0
    try:
        for model, path in [("gpt-4o", "/v1/chat/completions"), ("claude-sonnet-4-5", "/v1/messages")]:
            before = len(calls)
            run = subprocess.run([claude_bin, "-p", "Read hello.txt and tell me what it says.", "--output-format", "json",
                                  "--allowedTools", "Read", "--model", model],
                                 env=cc_env, cwd=work / "project", capture_output=True, text=True, timeout=120)
            result = json.loads(run.stdout).get("result", "") if run.stdout.strip().startswith("{") else ""
            sent = json.dumps(calls[before:])
            round_trip = '"role": "tool"' in sent or '"type": "tool_result"' in sent
            reached = any(p.startswith(path) for p in paths[before:])
            ok = "hello world file" in result and round_trip and reached
            print(f"{'ok  ' if ok else 'FAIL'} {model} via {path}: exit {run.returncode}, result {result.strip()[:200]!r}")
            if not ok:
                print(run.stdout[-2000:], run.stderr[-2000:])
            passed, failed = passed + ok, failed + (not ok)
    finally:
        proxy.terminate()
        proxy.wait(5)
    if failed:
        print("".join(log[-20:]))
    print(f"Claude Code: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
