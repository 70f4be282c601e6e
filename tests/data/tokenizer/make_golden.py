#!/usr/bin/env python3
"""Records Hugging Face's own outputs for every fixture in this folder into golden.json.

Needs the `tokenizers` and `transformers` packages (not available on the build machines; run on a
machine that has them, e.g. the GPU machine). tokenizer_golden_test.cpp checks our tokenizer
against this file: encodings with and without special tokens, pre-tokenizer splits, decodes, and
apply_chat_template output for the fixtures that carry a chat template.
"""
import json
import os
import sys

import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": " Hi there \n"}],
    [{"role": "system", "content": "Sys one."}, {"role": "user", "content": "Q1"},
     {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2 😀"}],
    [{"role": "user", "content": "first"}, {"role": "assistant", "content": "second"},
     {"role": "system", "content": "late system"}, {"role": "user", "content": "third"}],
]


def main():
    with open(os.path.join(HERE, "texts.json"), encoding="utf-8") as f:
        texts = json.load(f)
    golden = {"tokenizers_version": tokenizers.__version__,
              "transformers_version": transformers.__version__, "texts": texts, "fixtures": {}}
    for name in sorted(os.listdir(HERE)):
        path = os.path.join(HERE, name)
        if not os.path.isfile(os.path.join(path, "tokenizer.json")):
            continue
        tok = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        entry = {"encode": [], "encode_special": [], "pre_tokenize": [], "decode": []}
        for text in texts:
            ids = tok.encode(text, add_special_tokens=False).ids
            entry["encode"].append(ids)
            entry["encode_special"].append(tok.encode(text, add_special_tokens=True).ids)
            entry["decode"].append(tok.decode(ids, skip_special_tokens=False))
            pre = tok.pre_tokenizer.pre_tokenize_str(text) if tok.pre_tokenizer else [(text, None)]
            entry["pre_tokenize"].append([piece for piece, _ in pre])
        config = json.load(open(os.path.join(path, "tokenizer_config.json"), encoding="utf-8"))
        if config.get("chat_template"):
            hf = AutoTokenizer.from_pretrained(path)
            entry["chat"] = []
            for messages in CONVERSATIONS:
                for add_generation_prompt in (False, True):
                    entry["chat"].append({
                        "messages": messages, "add_generation_prompt": add_generation_prompt,
                        "text": hf.apply_chat_template(messages, tokenize=False,
                                                       add_generation_prompt=add_generation_prompt)})
        golden["fixtures"][name] = entry
        print(name, "ok", file=sys.stderr)
    out = os.path.join(os.environ.get("OUT", HERE), "golden.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
