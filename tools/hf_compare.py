#!/ usr / bin / env python3
"""Proves real HF checkpoints would load: HF transformers' own model classes read the checkpoint
folders `dpserve model create` writes and produce the logits our engine produces.

Two steps, because HF transformers lives on the GPU machine and the engine builds here:

  prepare (here, Debian's /usr/bin/python3 with numpy):
    tools/hf_compare.py prepare --dpserve build/dpserve --out /tmp/hfcheck [--archs llama,qwen2,...]
  writes, per architecture, a tiny seeded checkpoint DIR/<arch>/ plus the engine's f32 logits of
  every position (`dpserve model logits`, one decode step per token) in DIR/<arch>/engine.npy, and
  the token ids in DIR/tokens.txt.

  compare (on the machine with torch + transformers):
    tools/hf_compare.py compare /tmp/hfcheck [--json result.json] [--tol 1e-4]
  loads each DIR/<arch> with AutoModelForCausalLM (float32, CPU, eager attention, no remote code:
  HF's own LlamaForCausalLM / Qwen2ForCausalLM / DeepseekV2ForCausalLM / DeepseekV3ForCausalLM)
  and reports max|engine - hf| / max|hf| per checkpoint; exit status 0 when all are < --tol.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

TOKENS = [1, 17, 300, 5, 5, 42, 511, 0, 99, 260, 7, 128, 64, 3, 250, 33]
ARCHS = ["llama", "qwen2", "deepseek_v2", "deepseek_v3"]


def prepare(args):
    tokens = ",".join(str(t) for t in TOKENS)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "tokens.txt"), "w") as f:
        f.write(tokens + "\n")
    for arch in args.archs.split(","):
        folder = os.path.join(args.out, arch)
        subprocess.run([args.dpserve, "model", "create", "--arch", arch, "--preset", args.preset,
                        "--seed", str(args.seed), "--dtype", args.dtype, "--out", folder],
                       check=True)
        subprocess.run([args.dpserve, "model", "logits", folder, "--tokens", tokens, "--out",
                        os.path.join(folder, "engine.npy")], check=True)
        print("prepared", folder)
    return 0


def rel_err(got, want):
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def compare(args):
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    with open(os.path.join(args.dir, "tokens.txt")) as f:
        tokens = [int(t) for t in f.read().strip().split(",")]
    results = []
    for arch in sorted(os.listdir(args.dir)):
        folder = os.path.join(args.dir, arch)
        if not os.path.isfile(os.path.join(folder, "engine.npy")):
            continue
        model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32,
                                                     attn_implementation="eager")
        model.eval()
        with torch.no_grad():
            hf = model(torch.tensor([tokens]), use_cache=False).logits[0].double().numpy()
        engine = np.load(os.path.join(folder, "engine.npy")).astype(np.float64)
        result = {
            "checkpoint": arch,
            "hf_class": type(model).__name__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "tokens": len(tokens),
            "rel_err_engine_vs_hf": rel_err(engine, hf),
            "argmax_agree": int(np.sum(np.argmax(engine, -1) == np.argmax(hf, -1))),
        }
        print(json.dumps(result), flush=True)
        results.append(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if not results:
        print("no checkpoints with engine.npy under " + args.dir, file=sys.stderr)
        return 1
    return 0 if all(r["rel_err_engine_vs_hf"] < args.tol for r in results) else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--dpserve", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--archs", default=",".join(ARCHS))
    p.add_argument("--preset", default="tiny")
    p.add_argument("--dtype", default="f32")
    p.add_argument("--seed", type=int, default=7)
    c = sub.add_parser("compare")
    c.add_argument("dir")
    c.add_argument("--json")
    c.add_argument("--tol", type=float, default=1e-4)
    args = parser.parse_args()
    return prepare(args) if args.command == "prepare" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
