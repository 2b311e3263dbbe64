#!/usr/bin/env bash
# vLLM serving a tuned adapter beside transformers generate on the same GPU: output tokens per second.
#
# Needs a CUDA GPU, `pip install vllm`, and a succeeded run of examples/recipes/local.yaml (RUN; without one the
# script trains it first, which takes about a minute on a GPU). Both sides answer the recipe evaluation prompts,
# greedy, MAX_TOKENS new tokens each:
#   - transformers: base + adapter merged, `generate` over batches of BATCH prompts (left padding);
#   - vLLM: `tunekit serve RUN --engine vllm` (the adapter served with --enable-lora), CLIENTS concurrent clients
#     through the openai SDK.
# Prints tokens/s of each and the ratio, and whether the greedy answers agree.
#
#   bash benchmarks/gpu/serve_vllm.sh [RUN]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
TUNEKIT=${TUNEKIT:-.venv/bin/tunekit}
PORT=${PORT:-8765}
CLIENTS=${CLIENTS:-32}
BATCH=${BATCH:-16}
MAX_TOKENS=${MAX_TOKENS:-128}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU')"
"$PY" -c "import vllm" 2>/dev/null || { echo "vLLM is not installed: pip install vllm"; exit 1; }

RUN=${1:-}
if [ -z "$RUN" ]; then
  "$TUNEKIT" run examples/recipes/local.yaml --yes --skip-eval
  RUN=$("$PY" -c "
from tunekit.tuner import Tuner
print(Tuner.from_config('examples/recipes/local.yaml').jobs()[0].run_id)")
fi
echo "run $RUN"

"$TUNEKIT" serve "$RUN" --engine vllm --port "$PORT" --name demo > /tmp/tunekit-serve-vllm.log 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && break
  kill -0 $SERVER 2>/dev/null || { cat /tmp/tunekit-serve-vllm.log; exit 1; }
  sleep 1
done

RUN="$RUN" PORT="$PORT" CLIENTS="$CLIENTS" BATCH="$BATCH" MAX_TOKENS="$MAX_TOKENS" "$PY" - <<'PYEOF'
import json, os, time
from concurrent.futures import ThreadPoolExecutor

import openai
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tunekit.serve.source import merged_folder, resolve_run

run, port = os.environ["RUN"], int(os.environ["PORT"])
clients, batch, max_tokens = int(os.environ["CLIENTS"]), int(os.environ["BATCH"]), int(os.environ["MAX_TOKENS"])
rows = [json.loads(line) for line in open("examples/recipes/data/eval.jsonl", encoding="utf-8") if line.strip()]
prompts = [[m for m in r["messages"] if m["role"] != "assistant"] for r in rows]
prompts = (prompts * (1 + 128 // len(prompts)))[:128]

client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=600)
def ask(messages):
    r = client.chat.completions.create(model="demo", messages=messages, max_tokens=max_tokens, temperature=0)
    return r.choices[0].message.content or "", r.usage.completion_tokens
ask(prompts[0])
start = time.perf_counter()
with ThreadPoolExecutor(clients) as pool:
    served = list(pool.map(ask, prompts))
vllm_s = time.perf_counter() - start
vllm_tokens = sum(n for _, n in served)

folder = merged_folder(resolve_run(run))
tok = AutoTokenizer.from_pretrained(str(folder), padding_side="left")
model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.bfloat16).cuda().eval()
def generate(chunk):
    texts = [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in chunk]
    inputs = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to("cuda")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    rows = out[:, inputs["input_ids"].shape[1]:]
    ends = [(r == tok.eos_token_id).nonzero() for r in rows]
    counts = [int(e[0]) + 1 if len(e) else rows.shape[1] for e in ends]
    return [tok.decode(r, skip_special_tokens=True) for r in rows], counts
generate(prompts[:2])
torch.cuda.synchronize()
start = time.perf_counter()
texts, counts = [], []
for i in range(0, len(prompts), batch):
    t, c = generate(prompts[i:i + batch])
    texts += t; counts += c
torch.cuda.synchronize()
hf_s = time.perf_counter() - start
hf_tokens = sum(counts)

same = sum(a.strip() == b.strip() for (a, _), b in zip(served, texts))
print(f"{'method':<34}{'wall s':>8}{'tokens':>8}{'tokens/s':>10}{'vs generate':>13}")
print(f"{'transformers generate (batch ' + str(batch) + ')':<34}{hf_s:>8.1f}{hf_tokens:>8}{hf_tokens / hf_s:>10.0f}{1:>12.2f}x")
ratio = (vllm_tokens / vllm_s) / (hf_tokens / hf_s)
print(f"{'vLLM LoRA, ' + str(clients) + ' clients':<34}{vllm_s:>8.1f}{vllm_tokens:>8}{vllm_tokens / vllm_s:>10.0f}{ratio:>12.2f}x")
print(f"greedy answers equal (bf16 on both sides; a few may differ in the last tokens): {same}/{len(prompts)}")
PYEOF
