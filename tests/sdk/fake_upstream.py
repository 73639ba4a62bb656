"""The scripted fake upstream that tests/sdk/clients.py runs the SDKs against, and the proxy it starts.

One server on 127.0.0.1:0 speaks both dialects (and the Responses API for `native-*`): asked with
tools and no tool result yet, it calls the first tool (with `{"answer": 4}` when that tool's schema
wants an `answer`, else `{"path": "a.txt"}`); given a tool result, it answers with text that quotes
the result; asked "what did you say?", it quotes its last answer in the conversation; otherwise
"Hello there". A model named `*-status-NNN` makes it fail with that status in its own dialect.
The proxy routes `gpt-*` (and `*`) to it as an OpenAI deployment and `claude-*` as an Anthropic one.
"""

import http.server
import json
import os
import pathlib
import re
import subprocess
import threading

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "fixtures" / "upstream"
TOKEN = "tok-sdk"
OLLAMA_SECRET = "ollama-k3y-7f3a9c2e51"
seen = []  # (path, authorization, x-api-key) of every upstream request


def sse(events):
    return "".join(events).encode()


def asks_answer(schema):
    """A tool whose schema wants `answer` (a client's JSON-output tool, such as the Vercel AI SDK's
    `json` tool) is called with one; every other tool with `{"path": "a.txt"}`."""
    return "answer" in ((schema or {}).get("properties") or {})


def recalled(messages):
    """Asked "what did you say?", the fake quotes its last answer from the conversation it was
    sent, so a client's check sees that earlier turns arrived (in either dialect)."""
    def text(content):
        if isinstance(content, str):
            return content
        return "".join(p.get("text", "") for p in content or [] if p.get("type") == "text")
    if not messages or text(messages[-1]["content"]) != "what did you say?":
        return None
    said = [text(m["content"]) for m in messages if m["role"] == "assistant" and text(m["content"])]
    return f"You heard: {said[-1] if said else '(nothing)'}"


def openai_answer(body):
    """Chat Completions: a tool call when tools are offered and unused, else text."""
    msgs = body["messages"]
    tool_result = next((m["content"] for m in msgs if m["role"] == "tool"), None)
    tools = body.get("tools") or []
    model = body["model"]
    if tools and tool_result is None:
        name = tools[0]["function"]["name"]
        args = '{"answer": 4}' if asks_answer(tools[0]["function"].get("parameters")) else '{"path": "a.txt"}'
        msg = {"role": "assistant", "content": None, "reasoning_content": "Need a tool.",
               "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": name, "arguments": args}}]}
        finish = "tool_calls"
    elif body.get("response_format", {}).get("type") == "json_schema":
        msg = {"role": "assistant", "content": '{"answer": 4}'}
        finish = "stop"
    else:
        text = recalled(msgs) or (f"The file says: {tool_result}" if tool_result else "Hello there")
        msg = {"role": "assistant", "content": text}
        finish = "stop"
    usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    if not body.get("stream"):
        return "application/json", json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
                                               "choices": [{"index": 0, "message": msg, "finish_reason": finish}], "usage": usage}).encode()
    def chunk(delta, finish=None, **extra):
        c = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(c)}\n\n"
    ev = [chunk({"role": "assistant", "content": ""})]
    if msg.get("reasoning_content"):
        ev.append(chunk({"reasoning_content": msg["reasoning_content"]}))
    if msg.get("content"):
        text = msg["content"]
        ev += [chunk({"content": text[:5]}), chunk({"content": text[5:]})]
    for i, c in enumerate(msg.get("tool_calls") or []):
        ev.append(chunk({"tool_calls": [{"index": i, "id": c["id"], "type": "function", "function": {"name": c["function"]["name"], "arguments": ""}}]}))
        args = c["function"]["arguments"]
        ev += [chunk({"tool_calls": [{"index": i, "function": {"arguments": args[:6]}}]}),
               chunk({"tool_calls": [{"index": i, "function": {"arguments": args[6:]}}]})]
    ev.append(chunk({}, finish))
    ev.append("data: " + json.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [], "usage": usage}) + "\n\n")
    ev.append("data: [DONE]\n\n")
    return "text/event-stream", sse(ev)


def anthropic_answer(body):
    """Messages: a tool_use when tools are offered and unused, else text."""
    tool_result = None
    for m in body["messages"]:
        if isinstance(m["content"], list):
            for b in m["content"]:
                if b.get("type") == "tool_result":
                    c = b["content"]
                    tool_result = c if isinstance(c, str) else "".join(x.get("text", "") for x in c)
    tools = body.get("tools") or []
    choice = body.get("tool_choice") or {}
    if (body.get("output_config") or {}).get("format"):
        blocks = [{"type": "text", "text": '{"answer": 4}'}]  # structured outputs: the answer is the text
        stop = "end_turn"
    elif choice.get("type") == "tool":
        blocks = [{"type": "tool_use", "id": "toolu_2", "name": choice["name"], "input": {"answer": 4}}]
        stop = "tool_use"
    elif tools and tool_result is None:
        args = {"answer": 4} if asks_answer(tools[0].get("input_schema")) else {"path": "a.txt"}
        blocks = [{"type": "thinking", "thinking": "Need a tool.", "signature": "EqQBCkYIBRgC"},
                  {"type": "tool_use", "id": "toolu_1", "name": tools[0]["name"], "input": args}]
        stop = "tool_use"
    else:
        text = recalled(body["messages"]) or (f"The file says: {tool_result}" if tool_result else "Hello there")
        blocks = [{"type": "text", "text": text}]
        stop = "end_turn"
    usage = {"input_tokens": 11, "output_tokens": 7, "cache_read_input_tokens": 3, "cache_creation_input_tokens": 0}
    msg = {"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"], "content": blocks,
           "stop_reason": stop, "stop_sequence": None, "usage": usage}
    if not body.get("stream"):
        return "application/json", json.dumps(msg).encode()
    def ev(kind, data):
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"
    out = [ev("message_start", {"message": {**msg, "content": [], "stop_reason": None, "usage": {"input_tokens": 11, "output_tokens": 1}}})]
    for i, b in enumerate(blocks):
        if b["type"] == "text":
            out += [ev("content_block_start", {"index": i, "content_block": {"type": "text", "text": ""}}),
                    ev("content_block_delta", {"index": i, "delta": {"type": "text_delta", "text": b["text"][:5]}}),
                    ev("content_block_delta", {"index": i, "delta": {"type": "text_delta", "text": b["text"][5:]}})]
        elif b["type"] == "thinking":
            out += [ev("content_block_start", {"index": i, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
                    ev("content_block_delta", {"index": i, "delta": {"type": "thinking_delta", "thinking": b["thinking"]}}),
                    ev("content_block_delta", {"index": i, "delta": {"type": "signature_delta", "signature": b["signature"]}})]
        else:
            args = json.dumps(b["input"])
            out += [ev("content_block_start", {"index": i, "content_block": {**b, "input": {}}}),
                    ev("content_block_delta", {"index": i, "delta": {"type": "input_json_delta", "partial_json": args[:6]}}),
                    ev("content_block_delta", {"index": i, "delta": {"type": "input_json_delta", "partial_json": args[6:]}})]
        out.append(ev("content_block_stop", {"index": i}))
    out += [ev("ping", {}), ev("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 7}}),
            ev("message_stop", {})]
    return "text/event-stream", sse(out)


def embeddings_answer(body):
    """OpenAI embeddings: one small vector per input (refusing what the real API refuses)."""
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    assert texts and all(isinstance(t, str) and t for t in texts), body
    assert set(body) <= {"model", "input", "dimensions", "encoding_format", "user"}, body
    data = [{"object": "embedding", "index": i, "embedding": [0.25 * (i + 1), -0.5]} for i in range(len(texts))]
    return json.dumps({"object": "list", "data": data, "model": body["model"],
                       "usage": {"prompt_tokens": 3 * len(texts), "total_tokens": 3 * len(texts)}}).encode()


def responses_answer(body):
    """The Responses API itself (a deployment with `responses_api: true`): same script."""
    items = body["input"] if isinstance(body["input"], list) else [{"type": "message", "role": "user", "content": body["input"]}]
    result = next((i["output"] for i in items if i.get("type") == "function_call_output"), None)
    tools = body.get("tools") or []
    if tools and result is None:
        out = [{"type": "function_call", "id": "fc_1", "call_id": "call_n1", "name": tools[0]["name"], "arguments": '{"path": "a.txt"}', "status": "completed"}]
    else:
        text = '{"answer": 4}' if body.get("text", {}).get("format", {}).get("type") == "json_schema" else (f"The file says: {result}" if result else "Hello there")
        out = [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": text, "annotations": []}]}]
    usage = {"input_tokens": 11, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}, "output_tokens": 7,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 18}
    resp = {"id": "resp_native1", "object": "response", "created_at": 1, "model": body["model"], "status": "completed", "output": out,
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": tools, "error": None, "incomplete_details": None, "usage": usage}
    if not body.get("stream"):
        return "application/json", json.dumps(resp).encode()
    seq = iter(range(1000))
    def ev(kind, **data):
        return f"event: {kind}\ndata: {json.dumps({'type': kind, 'sequence_number': next(seq), **data})}\n\n"
    ev_list = [ev("response.created", response={**resp, "status": "in_progress", "output": [], "usage": None})]
    for i, item in enumerate(out):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            ev_list += [ev("response.output_item.added", output_index=i, item={**item, "status": "in_progress", "content": []}),
                        ev("response.content_part.added", item_id=item["id"], output_index=i, content_index=0, part={"type": "output_text", "text": "", "annotations": []}),
                        ev("response.output_text.delta", item_id=item["id"], output_index=i, content_index=0, delta=text, logprobs=[]),
                        ev("response.output_text.done", item_id=item["id"], output_index=i, content_index=0, text=text, logprobs=[]),
                        ev("response.content_part.done", item_id=item["id"], output_index=i, content_index=0, part=item["content"][0])]
        else:
            ev_list += [ev("response.output_item.added", output_index=i, item={**item, "arguments": ""}),
                        ev("response.function_call_arguments.delta", item_id=item["id"], output_index=i, delta=item["arguments"]),
                        ev("response.function_call_arguments.done", item_id=item["id"], output_index=i, arguments=item["arguments"])]
        ev_list.append(ev("response.output_item.done", output_index=i, item=item))
    ev_list.append(ev("response.completed", response=resp))
    return "text/event-stream", sse(ev_list)


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
        seen.append((self.path, self.headers.get("Authorization"), self.headers.get("x-api-key")))
        if self.path == "/v1/models":
            return self.reply(200, "application/json", (FIX / "models.json").read_bytes())
        self.reply(404, "application/json", b'{"error":{"message":"no"}}')

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        seen.append((self.path, self.headers.get("Authorization"), self.headers.get("x-api-key")))
        m = re.search(r"status-(\d+)", body.get("model", ""))
        anthropic_wire = self.path.startswith("/v1/messages")
        if m:
            status = int(m.group(1))
            err = ({"type": "error", "error": {"type": "api_error", "message": f"scripted {status}"}} if anthropic_wire
                   else {"error": {"message": f"scripted {status}", "type": "server_error", "param": None, "code": None}})
            return self.reply(status, "application/json", json.dumps(err).encode())
        if self.path == "/v1/messages/count_tokens":
            return self.reply(200, "application/json", b'{"input_tokens": 77}')
        if self.path == "/v1/embeddings":
            return self.reply(200, "application/json", embeddings_answer(body))
        if "ignores-stream" in body.get("model", ""):
            body["stream"] = False  # some relays answer whole whatever the client asked
        if self.path == "/v1/responses":
            ctype, data = responses_answer(body)
        else:
            ctype, data = anthropic_answer(body) if anthropic_wire else openai_answer(body)
        self.reply(200, ctype, data)


def start_proxy(binary, upstream_port, work):
    config = pathlib.Path(work) / "litellm_config.yaml"
    base = f"http://127.0.0.1:{upstream_port}"
    config.write_text(
        "model_list:\n"
        "  - model_name: demo\n    litellm_params: {model: openai/demo, mock_response: 'Hi from the demo'}\n"
        f"  - model_name: 'claude-*'\n    litellm_params: {{model: anthropic/*, api_base: '{base}', api_key: sk-upstream}}\n"
        f"  - model_name: 'native-*'\n    litellm_params: {{model: openai/*, api_base: '{base}/v1', api_key: sk-upstream}}\n"
        "    gpt_reverse_proxy: {responses_api: true}\n"
        f"  - model_name: '*'\n    litellm_params: {{model: openai/*, api_base: '{base}/v1', api_key: sk-upstream}}\n"
        "gpt_reverse_proxy:\n  max_body_bytes: 200000\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "LOCAL_AUTH_TOKEN": TOKEN, "HOST": "127.0.0.1", "PORT": "0",
           "LOCAL_OLLAMA_SECRET": OLLAMA_SECRET}
    proxy = subprocess.Popen([binary, "--config", str(config)], env=env, cwd=work, stderr=subprocess.PIPE, text=True)
    for line in proxy.stderr:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in proxy.stderr], daemon=True).start()
            return proxy, int(m.group(1))
    raise SystemExit("proxy did not start")
