"""The OpenAI API as a client sees it through a forwarded Service: models, completion, chat, streaming, the API key
enforced, an unknown model refused. Works against an engine and against the llm-stack gateway (both answer /v1/models in the OpenAI shape)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request


def http(method: str, url: str, body: dict | None = None, key: str | None = None, timeout: int = 300):
    """(status, parsed JSON or text) of one request."""
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read().decode(errors="replace")
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def stream_chat(url: str, model: str, key: str | None, timeout: int = 300) -> tuple[list[dict], bool]:
    """The chunks of a streamed chat completion and whether it ended with [DONE]."""
    body = {"model": model, "messages": [{"role": "user", "content": "Count to three."}], "max_tokens": 8,
            "temperature": 0, "stream": True}
    req = urllib.request.Request(url, method="POST", data=json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    chunks, done = [], False
    with urllib.request.urlopen(req, timeout=timeout) as r:
        assert "text/event-stream" in r.headers.get("Content-Type", ""), r.headers.get("Content-Type")
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data:"):
                continue
            data = line[len("data:"):].strip()
            if data == "[DONE]":
                done = True
                break
            chunks.append(json.loads(data))
    return chunks, done


def listed_models(body) -> list[str]:
    """Model names of a /models answer in the OpenAI shape, {"object": "list", "data": [{"id", ...}]}."""
    if isinstance(body, dict) and body.get("object") == "list":
        return [m.get("id") for m in body.get("data") or []]
    return []


def openai_smoke(base: str, model: str, key: str | None, chat: bool = True) -> list[str]:
    """The OpenAI client's view of a served model, one assertion per step; returns what was checked.
    base is the OpenAI root (http://host:port/v1)."""
    done = []
    status, models = http("GET", f"{base}/models", key=key, timeout=30)
    assert status == 200, f"GET /models: {status} {models}"
    assert model in listed_models(models), f"/models lists {listed_models(models)}, not {model!r}"
    done.append("models lists the served name")
    completion = {"model": model, "prompt": "The capital of France is", "max_tokens": 8, "temperature": 0}
    if key:
        # A generating route: the engine enforces the key there, also behind the gateway (which passes it on).
        status, _ = http("POST", f"{base}/completions", completion, timeout=60)
        assert status == 401, f"POST /completions without the API key answered {status}, expected 401"
        status, _ = http("POST", f"{base}/completions", completion, key="wrong-" + key, timeout=60)
        assert status == 401, f"POST /completions with a wrong API key answered {status}, expected 401"
        done.append("requests without or with a wrong key are refused (401)")
    status, out = http("POST", f"{base}/completions", completion, key=key)
    assert status == 200, f"POST /completions: {status} {out}"
    assert out["choices"] and isinstance(out["choices"][0].get("text"), str), out
    assert out["usage"]["completion_tokens"] >= 1 and out["usage"]["prompt_tokens"] >= 1, out["usage"]
    done.append("completion")
    if chat:
        status, out = http("POST", f"{base}/chat/completions", {
            "model": model, "max_tokens": 8, "temperature": 0,
            "messages": [{"role": "user", "content": "Say hello."}]}, key=key)
        assert status == 200, f"POST /chat/completions: {status} {out}"
        msg = out["choices"][0]["message"]
        assert msg["role"] == "assistant" and isinstance(msg.get("content"), str), out
        done.append("chat completion")
        chunks, finished = stream_chat(f"{base}/chat/completions", model, key)
        assert chunks and finished, f"streamed chat: {len(chunks)} chunks, [DONE] seen: {finished}"
        assert all(c.get("object") == "chat.completion.chunk" for c in chunks), chunks[:2]
        done.append(f"streamed chat ({len(chunks)} chunks, [DONE])")
    status, out = http("POST", f"{base}/completions", {"model": model + "-no-such-model", "prompt": "x",
                                                         "max_tokens": 1}, key=key)
    assert status in (400, 404), f"an unknown model answered {status}, expected 404 (or 400)"
    done.append(f"unknown model refused ({status})")
    return done
