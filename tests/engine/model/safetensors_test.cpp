#include "engine/loader/safetensors.h"

#include "engine/loader/checkpoint.h"
#include "engine/loader/load_error.h"
#include "engine/loader/safetensors_writer.h"
#include "engine/model/test_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace dpserve::engine {
namespace {

using testing::TempDir;

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A safetensors image with the given header text and `data_bytes` zero bytes of data.
std::string image(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out + header + std::string(data_bytes, '\0');
}

void expect_load_error(const std::string& bytes, const std::string& needle) {
  try {
    parse_safetensors_header(bytes, bytes.size());
    FAIL() << "expected LoadError containing '" << needle << "'";
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Safetensors, WriterRoundTripsAllFloatDtypes) {
  TempDir dir;
  SafetensorsWriter writer;
  const std::vector<float> values = {1.0f, -2.5f, 0.15625f, 3.0e-5f, 65504.0f, -0.0f};
  writer.add("a.f32", {2, 3}, values, DType::kF32);
  writer.add("b.bf16", {6}, values, DType::kBF16);
  writer.add("c.f16", {3, 2}, values, DType::kF16);
  writer.set_metadata("format", "pt");
  writer.write(dir.file("m.safetensors"));

  SafetensorsFile file(dir.file("m.safetensors"));
  EXPECT_EQ(file.header().metadata.at("format"), "pt");
  EXPECT_EQ(file.header().data_offset % 8, 0u);
  const TensorView a = file.tensor("a.f32");
  EXPECT_EQ(a.info->shape, (std::vector<int64_t>{2, 3}));
  std::vector<float> out(6);
  convert_to_f32(a.info->dtype, a.data, 6, out.data());
  EXPECT_EQ(out, values);

  const TensorView b = file.tensor("b.bf16");
  convert_to_f32(b.info->dtype, b.data, 6, out.data());
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_NEAR(out[i], values[i], std::fabs(values[i]) / 128);

  const TensorView c = file.tensor("c.f16");
  convert_to_f32(c.info->dtype, c.data, 6, out.data());
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_NEAR(out[i], values[i], std::fabs(values[i]) / 1024);
  EXPECT_EQ(out[4], 65504.0f);  // largest f16 is exact
  EXPECT_THROW(file.tensor("nope"), LoadError);
}

TEST(Safetensors, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties go to even (1.0).
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);  // halfway, odd below: rounds up
  EXPECT_EQ(bf16_to_f32(0xc0a0), -5.0f);
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
}

TEST(Safetensors, RejectsHostileHeaders) {
  expect_load_error(std::string("\x05", 1), "shorter");
  expect_load_error(image("{}", 0).substr(0, 9), "truncated");
  expect_load_error(image("[1]", 0), "not JSON object");
  expect_load_error(image("{\"a\":", 0), "not valid JSON");
  expect_load_error(image(R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1),
                    "unsupported dtype");
  expect_load_error(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4),
                    "does not match");
  expect_load_error(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
                    "truncated");
  expect_load_error(image(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
                    "non-negative");
  expect_load_error(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 8),
                    "end before begin");
  expect_load_error(
      image(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", 8),
      "overflow");
  expect_load_error(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                          12),
                    "overlap");
  expect_load_error(image(R"({"__metadata__":{"k":1}})", 0), "__metadata__");
  // A header length that points past the end of the file.
  std::string big = image("{}", 0);
  big[0] = 100;
  expect_load_error(big, "truncated");
}

TEST(Checkpoint, TruncatedFileNamesTheFile) {
  TempDir dir;
  testing::make_tiny(dir.path(), "llama");
  const std::string path = dir.file("model.safetensors");
  const std::string bytes = file_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() - 100));
  try {
    Checkpoint ckpt(dir.path());
    FAIL() << "expected LoadError";
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, ShapeAndMissingTensorErrors) {
  TempDir dir;
  testing::make_tiny(dir.path(), "llama");
  Checkpoint ckpt(dir.path());
  EXPECT_TRUE(ckpt.has("model.embed_tokens.weight"));
  EXPECT_EQ(ckpt.load_f32("model.norm.weight", {64}).size(), 64u);
  try {
    ckpt.load_f32("model.norm.weight", {65});
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("[64]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[65]"), std::string::npos) << e.what();
  }
  try {
    ckpt.load_f32("model.layers.7.mlp.up_proj.weight", {1});
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor 'model.layers.7.mlp.up_proj.weight'"),
              std::string::npos)
        << e.what();
  }
}

TEST(Checkpoint, ShardedMatchesSingleFile) {
  TempDir one, many;
  testing::make_tiny(one.path(), "qwen2", 5);
  testing::make_tiny(many.path(), "qwen2", 5, DType::kF32, /*max_shard_bytes=*/64 * 1024);
  EXPECT_TRUE(std::filesystem::exists(many.file("model.safetensors.index.json")));
  EXPECT_FALSE(std::filesystem::exists(many.file("model.safetensors")));
  int shards = 0;
  for (const auto& e : std::filesystem::directory_iterator(many.path())) {
    shards += e.path().extension() == ".safetensors";
  }
  EXPECT_GT(shards, 2);
  Checkpoint a(one.path());
  Checkpoint b(many.path());
  EXPECT_EQ(a.tensor_names(), b.tensor_names());
  EXPECT_EQ(a.parameter_count(), b.parameter_count());
  for (const auto& name : a.tensor_names()) {
    EXPECT_EQ(a.load_f32(name, a.tensor(name).info->shape),
              b.load_f32(name, b.tensor(name).info->shape))
        << name;
  }
}

TEST(Checkpoint, MissingFilesAreClearErrors) {
  TempDir dir;
  EXPECT_THROW(Checkpoint{dir.path()}, LoadError);  // no config.json
  write_bytes(dir.file("config.json"), R"({"architectures": ["LlamaForCausalLM"]})");
  try {
    Checkpoint ckpt(dir.path());
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dpserve::engine
