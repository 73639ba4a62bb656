"""Codex CLI itself, headless and offline, through the proxy's Responses API to a fake Chat
Completions upstream and a fake Anthropic upstream.

Each fake upstream is scripted like a model: offered a shell tool and no tool result yet, it runs
`cat hello.txt` through whichever shell tool Codex declares (`shell`, `shell_command` or
`exec_command`, whose arguments differ); given the tool's output, it answers with text quoting it.
`codex exec` runs with a custom provider (`wire_api = "responses"`) pointed at the proxy, and in
`--oss` mode against the proxy's Ollama mount. A text
turn and a tool round trip pass on each upstream when Codex's last message quotes the file, which
only happens if the call and its output crossed the translation both ways. Codex runs with its
default web search on: the Anthropic fake answers a search request with Anthropic's web search
blocks, which must come back as text Codex shows.

Usage: codex.py PROXY_BINARY CODEX_BINARY
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

FILE_TEXT = "hello from the codex test file"
SEARCH_TEXT = "The web says Rust shipped a release."
seen = []  # (path, body) of every upstream request


def shell_call(tools):
    """(name, arguments) for the first shell-like tool Codex offered, or None."""
    for t in tools:
        name, params = t["name"], (t.get("parameters") or {}).get("properties", {})
        if name in ("shell", "container.exec") and params.get("command", {}).get("type") == "array":
            return name, {"command": ["bash", "-lc", "cat hello.txt"]}
        if name == "shell_command" or (name.startswith("shell") and params.get("command", {}).get("type") == "string"):
            return name, {"command": "cat hello.txt"}
        if name == "exec_command":
            return name, {"cmd": "cat hello.txt"}
    return None


def script(tools, result, user_text):
    """What the model says: a shell call, or text."""
    call = shell_call(tools) if "run" in user_text.lower() else None
    if call and result is None:
        return None, call
    return (f"The file says: {result}" if result is not None else "Hello from the fake model"), None


def chat_stream(body):
    msgs = body["messages"]
    result = next((m["content"] for m in msgs if m["role"] == "tool"), None)
    user = " ".join(m["content"] if isinstance(m["content"], str) else json.dumps(m["content"]) for m in msgs if m["role"] == "user")
    tools = [t["function"] for t in body.get("tools") or []]
    text, call = script(tools, result, user)

    def chunk(delta, finish=None, **extra):
        c = {"id": "chatcmpl-cx", "object": "chat.completion.chunk", "created": 1, "model": body["model"],
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(c)}\n\n"

    ev = [chunk({"role": "assistant", "content": ""})]
    if call:
        args = json.dumps(call[1])
        ev += [chunk({"tool_calls": [{"index": 0, "id": "call_cx1", "type": "function", "function": {"name": call[0], "arguments": ""}}]}),
               chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[:9]}}]}),
               chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[9:]}}]}),
               chunk({}, "tool_calls")]
    else:
        ev += [chunk({"content": text[:4]}), chunk({"content": text[4:]}), chunk({}, "stop")]
    usage = {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59}
    ev.append("data: " + json.dumps({"id": "chatcmpl-cx", "object": "chat.completion.chunk", "created": 1, "model": body["model"], "choices": [], "usage": usage}) + "\n\n")
    ev.append("data: [DONE]\n\n")
    return "".join(ev).encode()


def anthropic_stream(body):
    result, user = None, []
    for m in body["messages"]:
        for b in m["content"] if isinstance(m["content"], list) else [{"type": "text", "text": m["content"]}]:
            if b.get("type") == "tool_result":
                c = b["content"]
                result = c if isinstance(c, str) else "".join(x.get("text", "") for x in c)
            elif b.get("type") == "text" and m["role"] == "user":
                user.append(b["text"])
    tools = [{"name": t["name"], "parameters": t.get("input_schema")} for t in body.get("tools") or [] if "input_schema" in t]
    text, call = script(tools, result, " ".join(user))
    # Codex's default web search reaches Claude as Anthropic's own web search tool.
    search = "search" in " ".join(user).lower() and any(t.get("type") == "web_search_20250305" for t in body.get("tools") or [])

    def ev(kind, data):
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

    msg = {"id": "msg_cx", "type": "message", "role": "assistant", "model": body["model"], "content": [],
           "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 50, "output_tokens": 1}}
    out = [ev("message_start", {"message": msg})]
    if search:
        cite = {"type": "web_search_result_location", "url": "https://example.org/rust", "title": "Rust",
                "cited_text": SEARCH_TEXT, "encrypted_index": "Eo8BCioIAhgB"}
        hit = {"type": "web_search_result", "url": "https://example.org/rust", "title": "Rust", "encrypted_content": "EqgfCioI"}
        out += [ev("content_block_start", {"index": 0, "content_block": {"type": "server_tool_use", "id": "srvtoolu_cx", "name": "web_search", "input": {}}}),
                ev("content_block_delta", {"index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"query": "rust release"}'}}),
                ev("content_block_stop", {"index": 0}),
                ev("content_block_start", {"index": 1, "content_block": {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_cx", "content": [hit]}}),
                ev("content_block_stop", {"index": 1}),
                ev("content_block_start", {"index": 2, "content_block": {"type": "text", "text": "", "citations": []}}),
                ev("content_block_delta", {"index": 2, "delta": {"type": "citations_delta", "citation": cite}}),
                ev("content_block_delta", {"index": 2, "delta": {"type": "text_delta", "text": SEARCH_TEXT}}),
                ev("content_block_stop", {"index": 2})]
        stop = "end_turn"
    elif call:
        args = json.dumps(call[1])
        out += [ev("content_block_start", {"index": 0, "content_block": {"type": "tool_use", "id": "toolu_cx1", "name": call[0], "input": {}}}),
                ev("content_block_delta", {"index": 0, "delta": {"type": "input_json_delta", "partial_json": args[:9]}}),
                ev("content_block_delta", {"index": 0, "delta": {"type": "input_json_delta", "partial_json": args[9:]}}),
                ev("content_block_stop", {"index": 0})]
        stop = "tool_use"
    else:
        out += [ev("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
                ev("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": text}}),
                ev("content_block_stop", {"index": 0})]
        stop = "end_turn"
    out += [ev("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 9}}),
            ev("message_stop", {})]
    return "".join(out).encode()


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, ctype, data):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(200, "application/json", b'{"object":"list","data":[]}')

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        seen.append((self.path, body))
        if self.path == "/v1/chat/completions":
            data = chat_stream(body)
        elif self.path == "/v1/messages":
            data = anthropic_stream(body)
        else:
            return self.reply(404, "application/json", b'{"error":{"message":"no such path"}}')
        self.reply(200, "text/event-stream", data)


def start_proxy(binary, work, upstream_port):
    base = f"http://127.0.0.1:{upstream_port}"
    (work / "litellm_config.yaml").write_text(
        "model_list:\n"
        f"  - model_name: 'gpt-oss:20b'\n    litellm_params: {{model: openai/gpt-oss, api_base: '{base}/v1', api_key: sk-upstream}}\n"
        f"  - model_name: 'claude-*'\n    litellm_params: {{model: anthropic/*, api_base: '{base}', api_key: sk-upstream}}\n"
        f"  - model_name: '*'\n    litellm_params: {{model: openai/*, api_base: '{base}/v1', api_key: sk-upstream}}\n")
    env = {"PATH": os.environ.get("PATH", ""), "LOCAL_AUTH_TOKEN": "tok-codex", "HOST": "127.0.0.1", "PORT": "0",
           "LOCAL_OLLAMA_SECRET": "olla-5e0c2b7d9a41f3"}
    proxy = subprocess.Popen([binary], env=env, cwd=work, stderr=subprocess.PIPE, text=True)
    for line in proxy.stderr:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m:
            log = []
            threading.Thread(target=lambda: log.extend(proxy.stderr), daemon=True).start()
            return proxy, int(m.group(1)), log
    raise SystemExit("proxy did not start")


def codex(binary, work, port, model, prompt):
    """One `codex exec` run; its last message (or the reason there is none). A model named
    `gpt-oss:*` runs in `--oss` mode, through the Ollama mount (version check, tags, responses)."""
    home = work / f"codex-home-{model}"
    home.mkdir(exist_ok=True)
    # No `web_search = "disabled"`: Codex offers its web search tool on every turn, which Claude
    # runs as Anthropic's web search tool and chat deployments answer without.
    config = ""
    oss = model.startswith("gpt-oss")
    if not oss:
        config += (f'model = "{model}"\nmodel_provider = "proxy"\n\n[model_providers.proxy]\nname = "gpt-reverse-proxy"\n'
                   f'base_url = "http://127.0.0.1:{port}/v1"\nenv_key = "PROXY_TOKEN"\nwire_api = "responses"\n')
    (home / "config.toml").write_text(config)
    last = work / "last-message.txt"
    last.unlink(missing_ok=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work), "CODEX_HOME": str(home), "PROXY_TOKEN": "tok-codex",
           "RUST_LOG": "error", "NO_COLOR": "1", "CODEX_OSS_BASE_URL": f"http://127.0.0.1:{port}/olla-5e0c2b7d9a41f3/v1"}
    mode = ["--oss", "--local-provider", "ollama", "-m", model] if oss else []
    run = subprocess.run([binary, "exec", *mode, "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
                          "--color", "never", "-o", str(last), prompt],
                         env=env, cwd=work / "project", capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    text = last.read_text() if last.exists() else ""
    if run.returncode != 0 or not text:
        print(f"codex exit {run.returncode}\nstdout: {run.stdout[-1500:]}\nstderr: {run.stderr[-2500:]}")
    return text


def main():
    proxy_bin, codex_bin = (str(pathlib.Path(p).resolve()) for p in sys.argv[1:3])
    work = pathlib.Path(tempfile.mkdtemp())
    (work / "project").mkdir()
    (work / "project" / "hello.txt").write_text(FILE_TEXT + "\n")
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    proxy, port, log = start_proxy(proxy_bin, work, upstream.server_port)
    version = subprocess.run([codex_bin, "--version"], capture_output=True, text=True).stdout.strip()
    passed = failed = 0
    try:
        for model, path in [("relay-model", "/v1/chat/completions"), ("claude-sonnet-4", "/v1/messages"),
                            ("gpt-oss:20b", "/v1/chat/completions")]:
            turns = [("text turn", "Say hello.", "Hello from the fake model"),
                     ("tool round trip", "Run `cat hello.txt` and tell me what it says.", FILE_TEXT)]
            if path == "/v1/messages":
                turns.append(("web search", "Search the web for the latest Rust release.", SEARCH_TEXT))
            for name, prompt, want in turns:
                before = len(seen)
                text = codex(codex_bin, work, port, model, prompt)
                reached = [p for p, _ in seen[before:]]
                tool_turns = sum(1 for _, b in seen[before:] if "tool" in json.dumps(b.get("messages", []))
                                 and any(m.get("role") == "tool" or "tool_result" in json.dumps(m) for m in b.get("messages", [])))
                searched = any(t.get("type") == "web_search_20250305" for _, b in seen[before:] for t in b.get("tools") or [])
                ok = want in text and path in reached and (name == "text turn" or tool_turns >= 1 or searched)
                print(f"{'ok  ' if ok else 'FAIL'} {model} {name}: {text.strip()[:200]!r} (upstream paths {sorted(set(reached))})")
                passed, failed = passed + ok, failed + (not ok)
    finally:
        proxy.terminate()
        proxy.wait(5)
    if failed:
        print("".join(log[-30:]))
        if seen:
            print("last upstream request:", json.dumps(seen[-1][1])[:3000])
    print(f"Codex CLI ({version}): {passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
