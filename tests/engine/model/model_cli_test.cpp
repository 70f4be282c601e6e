// `dpserve model create|inspect|logits` as a user runs them (real process).
#include "engine/model/npy.h"
#include "engine/model/test_util.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace dpserve::engine {
namespace {

using testing::TempDir;

struct Output {
  int status;
  std::string text;
};

Output run(const std::string& args) {
  const std::string cmd = std::string(DPSERVE_BIN) + " model " + args + " 2>&1";
  Output out{-1, ""};
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.text.append(buf, n);
  const int status = ::pclose(pipe);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

class ModelCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(DPSERVE_BIN)) GTEST_SKIP() << "build the dpserve target first";
  }
};

TEST_F(ModelCli, CreateInspectLogits) {
  TempDir dir;
  const std::string out = dir.file("ckpt");
  Output created = run("create --arch qwen2 --preset tiny --seed 9 --out " + out);
  ASSERT_EQ(created.status, 0) << created.text;
  for (const char* f : {"config.json", "generation_config.json", "model.safetensors",
                        "tokenizer.json", "tokenizer_config.json"}) {
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
  }
  Output inspected = run("inspect " + out);
  ASSERT_EQ(inspected.status, 0) << inspected.text;
  EXPECT_NE(inspected.text.find("architecture: Qwen2ForCausalLM"), std::string::npos);
  // tied embeddings: 512*64 + 2 layers * (q 64*64 + k,v 2*32*64 + biases 128 + o 64*64 +
  // mlp 3*128*64 + norms 128) + final norm 64
  const int64_t per_layer = 4096 + 4096 + 128 + 4096 + 3 * 8192 + 128;
  const int64_t params = 512 * 64 + 2 * per_layer + 64;
  EXPECT_NE(inspected.text.find("parameters: " + std::to_string(params)), std::string::npos)
      << inspected.text;
  EXPECT_NE(inspected.text.find("kv_bytes_per_token: 512"), std::string::npos) << inspected.text;

  Output logits = run("logits " + out + " --tokens 5,6,7 --out " + dir.file("l.npy"));
  ASSERT_EQ(logits.status, 0) << logits.text;
  const NpyArray all = read_npy(dir.file("l.npy"));
  EXPECT_EQ(all.rows, 3);
  EXPECT_EQ(all.cols, 512);
  Output prefill = run("logits " + out + " --tokens 5,6,7 --prefill --out " + dir.file("p.npy"));
  ASSERT_EQ(prefill.status, 0) << prefill.text;
  const NpyArray last = read_npy(dir.file("p.npy"));
  ASSERT_EQ(last.rows, 1);
  EXPECT_LT(testing::relative_error(last.data, {all.data.end() - 512, all.data.end()}), 1e-5);
}

TEST_F(ModelCli, SameSeedSameBytesDifferentSeedDifferentBytes) {
  TempDir dir;
  ASSERT_EQ(run("create --arch llama --preset tiny --seed 1 --out " + dir.file("a")).status, 0);
  ASSERT_EQ(run("create --arch llama --preset tiny --seed 1 --out " + dir.file("b")).status, 0);
  ASSERT_EQ(run("create --arch llama --preset tiny --seed 2 --out " + dir.file("c")).status, 0);
  auto bytes = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(bytes(dir.file("a/model.safetensors")), bytes(dir.file("b/model.safetensors")));
  EXPECT_NE(bytes(dir.file("a/model.safetensors")), bytes(dir.file("c/model.safetensors")));
}

TEST_F(ModelCli, RejectsBadArguments) {
  TempDir dir;
  Output a = run("create --arch gpt2 --preset tiny --out " + dir.file("x"));
  EXPECT_EQ(a.status, 1);
  EXPECT_NE(a.text.find("unknown --arch 'gpt2'"), std::string::npos) << a.text;
  Output b = run("create --arch llama --preset huge --out " + dir.file("x"));
  EXPECT_EQ(b.status, 1);
  EXPECT_NE(b.text.find("unknown preset 'huge'"), std::string::npos) << b.text;
  Output c = run("inspect " + dir.file("nothing"));
  EXPECT_EQ(c.status, 1);
  EXPECT_NE(c.text.find("config.json"), std::string::npos) << c.text;
  Output d = run("create --arch llama --preset tiny --dtype f8 --out " + dir.file("x"));
  EXPECT_EQ(d.status, 1);
  EXPECT_NE(d.text.find("unknown dtype 'f8'"), std::string::npos) << d.text;
  EXPECT_NE(run("frobnicate").status, 0);
}

}  // namespace
}  // namespace dpserve::engine
