#!/usr/bin/python3
"""Independent NumPy reference for DeepseekV2ForCausalLM / DeepseekV3ForCausalLM.

Written from the published HF modeling code (DeepSeek's modeling_deepseek.py), in float64, sharing
nothing with the C++ engine: its own safetensors reader, YaRN table, RoPE (HF's permute-then-
rotate-half form), the expanded MLA formulation only, and HF's MoEGate (masking with 0.0, as HF
does). Prints nothing on success; writes the logits of every position as an [n, vocab] float32
.npy file.

usage: deepseek_ref.py --model DIR --tokens 1,2,3 --out logits.npy
"""
import argparse
import json
import math
import os
import struct

import numpy as np


def load_tensors(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        with open(os.path.join(model_dir, name), "rb") as f:
            blob = f.read()
        (header_len,) = struct.unpack("<Q", blob[:8])
        header = json.loads(blob[8:8 + header_len])
        data = blob[8 + header_len:]
        for key, info in header.items():
            if key == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            raw = data[begin:end]
            dtype = info["dtype"]
            if dtype == "F32":
                arr = np.frombuffer(raw, dtype="<f4")
            elif dtype == "F16":
                arr = np.frombuffer(raw, dtype="<f2")
            elif dtype == "BF16":
                arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                raise ValueError(f"{key}: unsupported dtype {dtype}")
            tensors[key] = arr.astype(np.float64).reshape(info["shape"])
    return tensors


def rms_norm(x, weight, eps):
    return weight * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def silu(x):
    return x / (1.0 + np.exp(-x))


def yarn_get_mscale(scale, mscale):
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def rope_cos_sin(cfg, positions):
    dim = cfg["qk_rope_head_dim"]
    base = cfg.get("rope_theta", 10000.0)
    rs = cfg.get("rope_scaling")
    freq_extra = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    inv_freq, mscale = freq_extra, 1.0
    if rs is not None:
        kind = rs.get("type", rs.get("rope_type"))
        if kind != "yarn":
            raise ValueError(f"reference only knows yarn scaling, not {kind}")
        factor = rs["factor"]
        orig = rs.get("original_max_position_embeddings", 4096)
        beta_fast, beta_slow = rs.get("beta_fast", 32), rs.get("beta_slow", 1)

        def correction_dim(rotations):
            return (dim * math.log(orig / (rotations * 2 * math.pi))) / (2 * math.log(base))

        low = max(math.floor(correction_dim(beta_fast)), 0)
        high = min(math.ceil(correction_dim(beta_slow)), dim - 1)
        if low == high:
            high += 0.001
        ramp = np.clip((np.arange(dim // 2, dtype=np.float64) - low) / (high - low), 0, 1)
        extra_mask = 1.0 - ramp
        freq_inter = freq_extra / factor
        inv_freq = freq_inter * (1 - extra_mask) + freq_extra * extra_mask
        mscale = yarn_get_mscale(factor, rs.get("mscale", 1)) / yarn_get_mscale(
            factor, rs.get("mscale_all_dim", 0))
    freqs = np.outer(np.asarray(positions, dtype=np.float64), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)
    return np.cos(emb) * mscale, np.sin(emb) * mscale


def apply_rope(x, cos, sin):
    # HF DeepSeek: de-interleave pairs (view d/2 x 2, transpose), then rotate-half.
    d = x.shape[-1]
    x = x.reshape(*x.shape[:-1], d // 2, 2).swapaxes(-1, -2).reshape(x.shape)
    half = d // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def attention(cfg, w, p, x, cos, sin):
    n = x.shape[0]
    heads = cfg["num_attention_heads"]
    dn, dr, dv = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    dc = cfg["kv_lora_rank"]
    eps = cfg.get("rms_norm_eps", 1e-6)
    if cfg.get("q_lora_rank"):
        q = rms_norm(x @ w[p + "q_a_proj.weight"].T, w[p + "q_a_layernorm.weight"], eps)
        q = q @ w[p + "q_b_proj.weight"].T
    else:
        q = x @ w[p + "q_proj.weight"].T
    q = q.reshape(n, heads, dn + dr).transpose(1, 0, 2)  # [H, n, qk]
    q_nope, q_pe = q[..., :dn], q[..., dn:]
    ckv = x @ w[p + "kv_a_proj_with_mqa.weight"].T
    compressed, k_pe = ckv[:, :dc], ckv[:, dc:]
    kv = rms_norm(compressed, w[p + "kv_a_layernorm.weight"], eps) @ w[p + "kv_b_proj.weight"].T
    kv = kv.reshape(n, heads, dn + dv).transpose(1, 0, 2)
    k_nope, v = kv[..., :dn], kv[..., dn:]
    q_pe = apply_rope(q_pe, cos, sin)
    k_pe = apply_rope(k_pe[None], cos, sin)  # one rope key shared by every head
    query = np.concatenate([q_nope, q_pe], axis=-1)
    key = np.concatenate([k_nope, np.broadcast_to(k_pe, (heads, n, dr))], axis=-1)
    scale = (dn + dr) ** -0.5
    rs = cfg.get("rope_scaling")
    if rs is not None and rs.get("mscale_all_dim", 0):
        m = yarn_get_mscale(rs["factor"], rs["mscale_all_dim"])
        scale = scale * m * m
    scores = query @ key.transpose(0, 2, 1) * scale
    scores = np.where(np.tril(np.ones((n, n), dtype=bool)), scores, -np.inf)
    out = softmax(scores) @ v  # [H, n, dv]
    return out.transpose(1, 0, 2).reshape(n, heads * dv) @ w[p + "o_proj.weight"].T


def mlp(w, p, x):
    gate = x @ w[p + "gate_proj.weight"].T
    up = x @ w[p + "up_proj.weight"].T
    return (silu(gate) * up) @ w[p + "down_proj.weight"].T


def topk_desc(values, k):
    return np.argsort(-values, kind="stable")[:k]


def moe_gate(cfg, w, p, x):
    n_exp = cfg["n_routed_experts"]
    k = cfg["num_experts_per_tok"]
    logits = x @ w[p + "gate.weight"].T
    scoring = cfg.get("scoring_func", "softmax")
    scores = softmax(logits) if scoring == "softmax" else 1.0 / (1.0 + np.exp(-logits))
    method = cfg.get("topk_method", "greedy")
    idx = np.zeros((x.shape[0], k), dtype=np.int64)
    weight = np.zeros((x.shape[0], k))
    for t in range(x.shape[0]):
        s = scores[t]
        if method == "greedy":
            chosen = topk_desc(s, k)
        else:
            groups, keep = cfg["n_group"], cfg["topk_group"]
            choice = s + w[p + "gate.e_score_correction_bias"] if method == "noaux_tc" else s
            grouped = choice.reshape(groups, -1)
            if method == "group_limited_greedy":
                group_scores = grouped.max(axis=-1)
            elif method == "noaux_tc":
                group_scores = np.sort(grouped, axis=-1)[:, -2:].sum(axis=-1)
            else:
                raise ValueError(method)
            mask = np.zeros(groups, dtype=bool)
            mask[topk_desc(group_scores, keep)] = True
            masked = np.where(np.repeat(mask, n_exp // groups), choice, 0.0)
            chosen = topk_desc(masked, k)
        idx[t] = chosen
        weight[t] = s[chosen]
    if k > 1 and cfg.get("norm_topk_prob", False):
        weight = weight / (weight.sum(axis=-1, keepdims=True) + 1e-20)
    return idx, weight * cfg.get("routed_scaling_factor", 1.0)


def moe(cfg, w, p, x):
    idx, weight = moe_gate(cfg, w, p, x)
    y = np.zeros_like(x)
    for t in range(x.shape[0]):
        for e, g in zip(idx[t], weight[t]):
            y[t] += g * mlp(w, f"{p}experts.{e}.", x[t:t + 1])[0]
    if cfg.get("n_shared_experts"):
        y = y + mlp(w, p + "shared_experts.", x)
    return y


def forward(cfg, w, tokens):
    eps = cfg.get("rms_norm_eps", 1e-6)
    x = w["model.embed_tokens.weight"][np.asarray(tokens)]
    cos, sin = rope_cos_sin(cfg, np.arange(len(tokens)))
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        x = x + attention(cfg, w, p + "self_attn.", h, cos, sin)
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        is_moe = (cfg.get("n_routed_experts") is not None
                  and layer >= cfg.get("first_k_dense_replace", 0)
                  and layer % cfg.get("moe_layer_freq", 1) == 0)
        x = x + (moe(cfg, w, p + "mlp.", h) if is_moe else mlp(w, p + "mlp.", h))
    x = rms_norm(x, w["model.norm.weight"], eps)
    return x @ w["lm_head.weight"].T


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    arch = cfg["architectures"][0]
    if arch not in ("DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM"):
        raise SystemExit(f"deepseek_ref.py: not a DeepSeek checkpoint: {arch}")
    tokens = [int(t) for t in args.tokens.split(",")]
    logits = forward(cfg, load_tensors(args.model), tokens)
    np.save(args.out, logits.astype(np.float32))


if __name__ == "__main__":
    main()
