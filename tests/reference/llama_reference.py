#!/usr/bin/python3
"""Independent NumPy (float64) forward pass for LlamaForCausalLM and Qwen2ForCausalLM.

Reads a HF checkpoint folder (config.json + model.safetensors or a sharded index) with its own
safetensors parser and computes the logits of every position of a token sequence, written as a
float32 .npy [n_tokens, vocab]. It shares no code with the C++ engine; it follows HF transformers'
modeling_llama / modeling_qwen2 (rotate-half RoPE, llama3 frequency scaling, GQA, SwiGLU, RMSNorm,
tied embeddings, Qwen2 q/k/v biases).

Run with Debian's Python (it has numpy):
  /usr/bin/python3 tests/reference/llama_reference.py DIR --tokens 1,2,3 --out ref.npy
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[base + begin:base + end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<"))
        tensors[name] = arr.reshape(info["shape"]).astype(np.float64)
    return tensors


def load_checkpoint(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    index = os.path.join(folder, "model.safetensors.index.json")
    weights = {}
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    for name in files:
        weights.update(read_safetensors(os.path.join(folder, name)))
    return cfg, weights


def inv_freq(cfg, dim):
    theta = cfg.get("rope_theta", 10000.0)
    freq = 1.0 / (theta ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    if kind == "linear":
        freq = freq / rs["factor"]
    elif kind == "llama3":
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        wavelen = 2 * math.pi / freq
        scaled = np.where(wavelen > old / low, freq / factor, freq)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= old / high) & (wavelen <= old / low)
        freq = np.where(medium, smoothed, scaled)
    elif kind != "default":
        raise SystemExit("reference: unsupported rope_scaling " + kind)
    return freq


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def rms_norm(x, w, eps):
    return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def forward(cfg, w, tokens):
    qwen2 = cfg["architectures"][0] == "Qwen2ForCausalLM"
    d = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim", d // nh)
    eps = cfg.get("rms_norm_eps", 1e-6)
    bias = qwen2 or cfg.get("attention_bias", False)
    n = len(tokens)
    pos = np.arange(n, dtype=np.float64)
    angles = pos[:, None] * inv_freq(cfg, hd)[None, :]
    emb = np.concatenate([angles, angles], axis=-1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    mask = np.triu(np.full((n, n), -np.inf), k=1)

    h = w["model.embed_tokens.weight"][tokens]
    for layer in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        x = rms_norm(h, w[p + "input_layernorm.weight"], eps)

        def proj(name, x=x):
            y = x @ w[p + name + ".weight"].T
            if bias and (p + name + ".bias") in w:
                y = y + w[p + name + ".bias"]
            return y

        q = proj("self_attn.q_proj").reshape(n, nh, hd)
        k = proj("self_attn.k_proj").reshape(n, nkv, hd)
        v = proj("self_attn.v_proj").reshape(n, nkv, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = nh // nkv
        k = np.repeat(k, group, axis=1)
        v = np.repeat(v, group, axis=1)
        scores = np.einsum("ihd,jhd->hij", q, k) / math.sqrt(hd) + mask[None]
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores = scores / scores.sum(axis=-1, keepdims=True)
        attn = np.einsum("hij,jhd->ihd", scores, v).reshape(n, nh * hd)
        out = attn @ w[p + "self_attn.o_proj.weight"].T
        if p + "self_attn.o_proj.bias" in w:
            out = out + w[p + "self_attn.o_proj.bias"]
        h = h + out

        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        gate = x @ w[p + "mlp.gate_proj.weight"].T
        up = x @ w[p + "mlp.up_proj.weight"].T
        act = gate / (1 + np.exp(-gate)) * up
        h = h + act @ w[p + "mlp.down_proj.weight"].T

    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w.get("lm_head.weight")
    if head is None or cfg.get("tie_word_embeddings", False):
        head = w["model.embed_tokens.weight"]
    return h @ head.T


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids")
    ap.add_argument("--out", required=True, help="output .npy (float32 [n_tokens, vocab])")
    args = ap.parse_args()
    cfg, weights = load_checkpoint(args.checkpoint)
    arch = cfg["architectures"][0]
    if arch not in ("LlamaForCausalLM", "Qwen2ForCausalLM"):
        print("reference: unsupported architecture " + arch, file=sys.stderr)
        return 2
    tokens = [int(t) for t in args.tokens.split(",")]
    logits = forward(cfg, weights, tokens)
    np.save(args.out, logits.astype(np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
