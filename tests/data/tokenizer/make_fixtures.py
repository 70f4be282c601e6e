#!/usr/bin/python3
"""Writes the hand-made tokenizer fixtures (standard library only).

gpt2_style:   GPT-2 layout: ByteLevel pre-tokenizer with its built-in regex, merges as "a b"
              strings, added tokens exercising lstrip / rstrip / single_word / non-special.
gpt2_prefix:  the same with add_prefix_space = true.
llama3_style: Llama 3 layout: Split regex + ByteLevel(use_regex=false), merges as ["a", "b"]
              pairs, ignore_merges, TemplateProcessing adding <|begin_of_text|>.
The merges are a handful chosen by hand so that common English pieces become single tokens.
"""
import json
import os


def byte_alphabet():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


MERGES = [
    ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "w"), ("o", "r"), ("l", "d"),
    ("Ġw", "or"), ("Ġwor", "ld"), ("H", "e"), ("l", "l"), ("He", "ll"), ("Hell", "o"),
    ("Ġ", "a"), ("n", "d"), ("Ġa", "nd"), ("'", "s"), ("i", "s"), ("Ġ", "is"), ("Ġ", "in"),
    ("Ġ", "Ġ"), ("ĠĠ", "ĠĠ"), ("Ċ", "Ċ"), ("1", "2"), ("12", "3"), ("e", "r"), ("Ġt", "o"),
    ("Ġ", "f"), ("Ġf", "o"), ("Ġfo", "x"), ("ä", "¸"), ("ä¸", "Ń"), ("ð", "Ł"),
]


def build(pair_merges, pre_tokenizer, post_processor, added, extra_vocab=()):
    alphabet = byte_alphabet()
    vocab = {c: i for i, c in enumerate(alphabet)}
    for a, b in MERGES:
        vocab.setdefault(a + b, len(vocab))
    for token in extra_vocab:
        vocab.setdefault(token, len(vocab))
    added_tokens = []
    for content, flags in added:
        entry = {"id": len(vocab) + len(added_tokens), "content": content, "single_word": False,
                 "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        entry.update(flags)
        added_tokens.append(entry)
    merges = [[a, b] if pair_merges else a + " " + b for a, b in MERGES]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
        "normalizer": None, "pre_tokenizer": pre_tokenizer, "post_processor": post_processor,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": pair_merges,
                  "vocab": vocab, "merges": merges},
    }


def write(name, tokenizer, config):
    os.makedirs(name, exist_ok=True)
    with open(os.path.join(name, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(name, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    gpt2_added = [
        ("<|endoftext|>", {}),
        ("<mask>", {"lstrip": True}),
        ("<sep>", {"rstrip": True}),
        ("[NAME]", {"single_word": True, "special": False}),
        ("<tool>", {"special": False}),
    ]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                  "use_regex": True}
    post = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
            "use_regex": True}
    config = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
              "tokenizer_class": "PreTrainedTokenizerFast"}
    write("gpt2_style", build(False, byte_level, post, gpt2_added), config)
    write("gpt2_prefix", build(False, dict(byte_level, add_prefix_space=True), post, gpt2_added),
          config)

    pattern = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
    pre = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
         "use_regex": False}]}
    bos = "<|begin_of_text|>"
    template = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": bos, "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": bos, "type_id": 1}},
                         {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {bos: {"id": bos, "ids": [None], "tokens": [bos]}}}
    llama_added = [(bos, {}), ("<|end_of_text|>", {}), ("<|start_header_id|>", {}),
                   ("<|end_header_id|>", {}), ("<|eot_id|>", {})]
    # ignore_merges: "Ġunmerged" is in the vocab but no merge builds it.
    tok = build(True, pre, {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        template]}, llama_added, extra_vocab=["Ġunmerged"])
    template["special_tokens"][bos]["ids"] = [tok["added_tokens"][0]["id"]]
    write("llama3_style", tok, {"bos_token": bos, "eos_token": "<|eot_id|>",
                                "tokenizer_class": "PreTrainedTokenizerFast"})


if __name__ == "__main__":
    main()
