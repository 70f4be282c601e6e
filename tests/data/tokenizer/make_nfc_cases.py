#!/usr/bin/python3
"""Writes nfc_cases.txt: random strings dense in combining marks, Hangul jamo, singletons and
composition exclusions (and their NFD forms), each line "input<TAB>NFC(input)" by Python's
unicodedata. Read by tokenizer_test.cpp to check nfc.cpp against an independent implementation."""
import random
import unicodedata as u

random.seed(3)
pool = [chr(cp) for cp in range(0xC0, 0x3400)
        if not 0xD800 <= cp < 0xE000 and chr(cp) not in '\x85\u2028\u2029'
        and (u.combining(chr(cp)) or u.decomposition(chr(cp)))]
pool += [chr(c) for c in range(0x1100, 0x1200)] + [chr(0xAC00 + i * 7) for i in range(200)]
pool += ['\u0958', '\u212b', '\U0001D15E', '\U000110AB', '\U0001D160']
plain = list('abcdeo AEIOU') + ['中', '😀']
lines = []
for _ in range(1200):
    lines.append(''.join(random.choice(pool) if random.random() < 0.5 else random.choice(plain)
                         for _ in range(random.randint(1, 12))))
lines += [u.normalize('NFD', line) for line in lines[:400]]
with open('nfc_cases.txt', 'w', encoding='utf-8') as f:
    for line in lines:
        f.write(line + '\t' + u.normalize('NFC', line) + '\n')
