#!/usr/bin/python3
"""Writes a seeded Llama checkpoint sized for the routing-quality experiment on a small CPU.

The `tiny` preset (hidden 64, 2 layers) computes a 1,000-token prefill in about a millisecond, so
HTTP and scheduling overhead hide whether a prefix was cached; `small` (125 M parameters) takes
seconds per prefill on two shared cores, too slow for five arms in a few minutes. This shape sits
in between: prefill costs about 20 MFLOP per token, so recomputing a shared prefix is what the
throughput of an arm depends on. The tokenizer (vocab 512) is copied from the tiny model directory.

usage: make_bench_model.py TINY_MODEL_DIR OUT_DIR [--hidden 256] [--layers 4] [--intermediate 768]
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np


def tensors(hidden, layers, heads, kv_heads, intermediate, vocab):
    head_dim = hidden // heads
    out = [("model.embed_tokens.weight", (vocab, hidden), "normal")]
    for layer in range(layers):
        p = f"model.layers.{layer}."
        out += [(p + "input_layernorm.weight", (hidden,), "ones"),
                (p + "self_attn.q_proj.weight", (heads * head_dim, hidden), "normal"),
                (p + "self_attn.k_proj.weight", (kv_heads * head_dim, hidden), "normal"),
                (p + "self_attn.v_proj.weight", (kv_heads * head_dim, hidden), "normal"),
                (p + "self_attn.o_proj.weight", (hidden, heads * head_dim), "normal"),
                (p + "post_attention_layernorm.weight", (hidden,), "ones"),
                (p + "mlp.gate_proj.weight", (intermediate, hidden), "normal"),
                (p + "mlp.up_proj.weight", (intermediate, hidden), "normal"),
                (p + "mlp.down_proj.weight", (hidden, intermediate), "normal")]
    out += [("model.norm.weight", (hidden,), "ones"), ("lm_head.weight", (vocab, hidden), "normal")]
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tiny_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--intermediate", type=int, default=768)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with open(os.path.join(args.tiny_dir, "config.json")) as f:
        config = json.load(f)
    vocab = config["vocab_size"]
    config.update({"hidden_size": args.hidden, "intermediate_size": args.intermediate,
                   "num_hidden_layers": args.layers, "num_attention_heads": args.heads,
                   "num_key_value_heads": args.kv_heads, "head_dim": args.hidden // args.heads,
                   "initializer_range": 0.02})
    os.makedirs(args.out_dir, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, shape, init in tensors(args.hidden, args.layers, args.heads, args.kv_heads,
                                     args.intermediate, vocab):
        if init == "ones":
            data = np.ones(shape, dtype=np.float32)
        else:
            data = (rng.standard_normal(shape) * 0.02).astype(np.float32)
        raw = data.tobytes()
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)  # safetensors pads the header to 8 bytes
    with open(os.path.join(args.out_dir, "model.safetensors"), "wb") as out:
        out.write(struct.pack("<Q", len(head)))
        out.write(head)
        for raw in blobs:
            out.write(raw)
    with open(os.path.join(args.out_dir, "config.json"), "w") as out:
        json.dump(config, out, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(os.path.join(args.tiny_dir, name), os.path.join(args.out_dir, name))


if __name__ == "__main__":
    main()
