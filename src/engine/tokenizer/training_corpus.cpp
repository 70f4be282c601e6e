#include "engine/tokenizer/training_corpus.h"

namespace dpserve::engine {

std::string_view training_corpus() {
  static constexpr std::string_view kCorpus = R"corpus(
The quick brown fox jumps over the lazy dog. The dog was not amused, and the fox ran into the forest.
It is a truth universally acknowledged that a single server in possession of a good cache must be
in want of more memory. When the requests arrive faster than the workers can serve them, the queue
grows, the latency rises, and the operators start to look at the dashboards with some concern.

A language model reads a sequence of tokens and predicts the next one. The tokenizer turns text into
tokens: it splits the input into words, numbers and punctuation, then merges frequent pairs of bytes
into larger pieces. Common words such as "the", "and", "of", "to", "in", "is", "that" and "for"
become single tokens, while rare words are spelled out from smaller pieces.

Serving many users at once needs batching. The scheduler collects requests, runs one forward pass
for all of them, and streams the new tokens back to each client. The key-value cache stores the
attention keys and values of every token, so the prompt is never processed twice. With a radix tree
over token prefixes, requests that share a system prompt reuse the same cached pages.

Questions people ask: What's the weather like today? Where did you put the keys? How many tokens per
second can this machine generate? Why isn't the test passing? I'm sure it'll work; we've checked it,
they're ready, and you'd be surprised how often it doesn't.

Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 256 512 1024 2048 4096 8192 32000 65536 128000 3.14159
2.71828 1e-4 0.001 -17 +23 12:30 2026-11-25 $19.99 50% #1 v1.2.3 192.168.0.1 127.0.0.1:30000

def fibonacci(n):
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

if __name__ == "__main__":
    for i in range(10):
        print(f"fib({i}) = {fibonacci(i)}")

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const auto& arg : args) {
    std::printf("%s\n", arg.c_str());
  }
  return args.empty() ? 1 : 0;
}

struct Request {
  int id = 0;
  std::string prompt;
  float temperature = 1.0f;
};

{"model": "dpserve", "messages": [{"role": "system", "content": "You are a helpful assistant."},
 {"role": "user", "content": "Hello, world!"}], "max_tokens": 128, "stream": true, "temperature": 0.7}

SELECT name, count(*) FROM requests WHERE latency_ms > 100 GROUP BY name ORDER BY 2 DESC LIMIT 10;
git commit -m "Fix the cache eviction order" && git push origin main
$ curl -s http://127.0.0.1:30000/v1/chat/completions -H 'Content-Type: application/json'

Le renard brun rapide saute par-dessus le chien paresseux. Ça coûte très cher, n'est-ce pas ? Où
êtes-vous allés cet été ? Der schnelle braune Fuchs springt über den faulen Hund. Größe, Straße,
Mädchen, schön. El rápido zorro marrón salta sobre el perro perezoso. ¿Dónde está la biblioteca?
¡Qué día tan bonito! Mañana será otro día. Быстрая коричневая лиса прыгает через ленивую собаку.
Привет, мир! Как дела? Γειά σου Κόσμε. Η γρήγορη καφέ αλεπού.

敏捷的棕色狐狸跳过了懒狗。你好，世界！今天天气很好。我们在服务器上运行语言模型。
素早い茶色の狐がのろまな犬を飛び越える。こんにちは、世界！東京は日本の首都です。
빠른 갈색 여우가 게으른 개를 뛰어넘습니다. 안녕하세요, 세계!
नमस्ते दुनिया। مرحبا بالعالم. שלום עולם.

Emoji and symbols: 😀 😂 🚀 ✨ 👍 ❤️ 🎉 🔥 ✅ ❌ → ← ↑ ↓ ∑ ∞ ≤ ≥ ≠ ± × ÷ ° € £ ¥ © ® ™ … — – « » “quoted” ‘single’

The results were clear: throughput doubled, latency halved, and the memory footprint stayed the
same. The team wrote it down, added a test, and moved on to the next problem. The next problem was
harder. The next problem is always harder, but the tests make it safer to change the code.
)corpus";
  return kCorpus;
}

}  // namespace dpserve::engine
