#!/usr/bin/env python3
"""Checks that HF transformers' own DeepSeek classes load a `dpserve model create` checkpoint and
produce the logits our engine does (and our NumPy reference does).

Run once on a machine with torch + transformers (the GPU machine); the engine's logits come from
`dpserve model logits DIR --tokens ... --out engine.npy` (one decode step per position). HF runs in
float32 on the CPU, so no TF32 or reduced-precision kernels blur the comparison.

usage: deepseek_hf_compare.py --model DIR --tokens 1,2,3 --engine engine.npy [--json out.json]
Exit status 0 when every relative error is below --tol (default 1e-4).
"""
import argparse
import json
import os
import sys

import numpy as np


def rel_err(got, want):
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def hf_logits(model_dir, tokens):
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        out = model(torch.tensor([tokens]), use_cache=False)
    return (out.logits[0].double().numpy(), transformers.__version__, type(model).__name__,
            config.model_type)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--engine", required=True, help="engine logits, [n, vocab] .npy")
    parser.add_argument("--json", help="write the result here too")
    parser.add_argument("--tol", type=float, default=1e-4)
    args = parser.parse_args()
    tokens = [int(t) for t in args.tokens.split(",")]

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import deepseek_ref

    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    reference = deepseek_ref.forward(cfg, deepseek_ref.load_tensors(args.model), tokens)
    engine = np.load(args.engine).astype(np.float64)
    hf, version, cls, model_type = hf_logits(args.model, tokens)
    result = {
        "model": os.path.basename(os.path.normpath(args.model)),
        "architecture": cfg["architectures"][0],
        "hf_class": cls,
        "model_type": model_type,
        "transformers": version,
        "tokens": len(tokens),
        "rel_err_engine_vs_hf": rel_err(engine, hf),
        "rel_err_numpy_vs_hf": rel_err(reference, hf),
        "rel_err_engine_vs_numpy": rel_err(engine, reference),
        "argmax_agree": int(np.sum(np.argmax(engine, -1) == np.argmax(hf, -1))),
    }
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    ok = all(result[k] < args.tol for k in result if k.startswith("rel_err"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
