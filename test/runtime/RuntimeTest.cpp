//===- RuntimeTest.cpp - Unit tests of libtessel_rt -----------------------===//
//
// No compiled model needed: the tests build fake model.so files from
// Inputs/fake_model.c with the C compiler (TESSEL_TEST_CC) and write weights
// files by hand, well-formed or broken in one way each.
//
//===----------------------------------------------------------------------===//

#include "tessel/runtime.h"
#include "runtime/GpuDevice.h"
#include "runtime/Manifest.h"
#include "runtime/Weights.h"
#include "tessel/runtime.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace tessel::rt;
using ::testing::HasSubstr;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

const uint64_t kWeightsChecksum = 0x21b327dac52b6fedULL; // f32 1, 2, 3, 4

std::vector<char> weightsData() {
  float w[4] = {1, 2, 3, 4};
  std::vector<char> data(sizeof(w));
  std::memcpy(data.data(), w, sizeof(w));
  return data;
}

const char *kWeightedManifest = "tessel-model 1\n"
                                "target cpu\n"
                                "weights w.weights 16 21b327dac52b6fed\n"
                                "input ids i64 2 -1 -1\n"
                                "input x f32 2 -1 4\n"
                                "output y f32 2 -1 4\n"
                                "output n i64 0\n"
                                "output t f32 2 4 -1\n";

const char *kAddOneManifest = "tessel-model 1\n"
                              "target cpu\n"
                              "weights - 0 0\n"
                              "input x f32 2 -1 4\n"
                              "output y f32 2 -1 4\n";

std::string cLiteral(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '"' || c == '\\')
      out += std::string("\\") + c;
    else
      out += c;
  }
  return out + "\"";
}

void writeFile(const fs::path &path, const std::string &bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), (std::streamsize)bytes.size());
}

struct WeightsFile {
  std::string magic = "TSLWGT01";
  std::vector<char> data = weightsData();
  uint64_t headerSize = 16;
  uint64_t headerChecksum = kWeightsChecksum;
  long extraBytes = 0; // < 0: cut the file short; > 0: trailing bytes

  void write(const fs::path &path) const {
    std::string file(4096, '\0');
    std::memcpy(&file[0], magic.data(), 8);
    std::memcpy(&file[8], &headerSize, 8);
    std::memcpy(&file[16], &headerChecksum, 8);
    file.append(data.begin(), data.end());
    if (extraBytes < 0)
      file.resize(file.size() + extraBytes);
    else
      file.append((size_t)extraBytes, 'x');
    writeFile(path, file);
  }
};

class RuntimeTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern =
        (fs::temp_directory_path() / "tessel-rt-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  /// Compiles a fake model.so; "" if the compiler fails.
  std::string buildModel(const std::string &name, const std::string &manifest,
                         const std::string &run = "run_add_one",
                         const std::string &defines = "") {
    fs::path source = dir / (name + ".c");
    fs::path library = dir / (name + ".so");
    std::string text = defines;
    if (!manifest.empty())
      text += "#define FAKE_MANIFEST " + cLiteral(manifest) + "\n";
    text += "#define FAKE_RUN " + run + "\n";
    text += "#include \"" TESSEL_TEST_INPUTS "/fake_model.c\"\n";
    writeFile(source, text);
    std::string command = std::string(TESSEL_TEST_CC) + " -shared -fPIC -o '" +
                          library.string() + "' '" + source.string() + "'";
    if (std::system(command.c_str()) != 0) {
      ADD_FAILURE() << "cannot compile " << source;
      return "";
    }
    return library.string();
  }

  /// Builds the weighted fake model with `weights` beside it.
  std::string buildWeighted(const WeightsFile *weights) {
    std::string path =
        buildModel("weighted", kWeightedManifest, "run_weighted");
    if (weights)
      weights->write(dir / "w.weights");
    return path;
  }

  /// Loads `path`, expecting `status`; returns tessel_last_error().
  std::string loadFails(const std::string &path, tessel_status status) {
    tessel_model *model = reinterpret_cast<tessel_model *>(1);
    EXPECT_EQ(tessel_model_load(path.c_str(), &model), status);
    EXPECT_EQ(model, nullptr);
    tessel_model_free(model);
    return tessel_last_error();
  }

  fs::path dir;
};

tessel_tensor *makeTensor(tessel_dtype dtype, std::vector<int64_t> dims) {
  tessel_tensor *t = nullptr;
  EXPECT_EQ(tessel_tensor_create(dtype, (int32_t)dims.size(), dims.data(), &t),
            TESSEL_OK);
  return t;
}

//===----------------------------------------------------------------------===//
// Dtypes and status
//===----------------------------------------------------------------------===//

TEST(Dtype, SizesAndNames) {
  EXPECT_EQ(tessel_dtype_size(TESSEL_DTYPE_F32), 4u);
  EXPECT_EQ(tessel_dtype_size(TESSEL_DTYPE_F16), 2u);
  EXPECT_EQ(tessel_dtype_size(TESSEL_DTYPE_BF16), 2u);
  EXPECT_EQ(tessel_dtype_size(TESSEL_DTYPE_I64), 8u);
  EXPECT_EQ(tessel_dtype_size(TESSEL_DTYPE_BOOL), 1u);
  EXPECT_EQ(tessel_dtype_size(TESSEL_DTYPE_INVALID), 0u);
  EXPECT_EQ(tessel_dtype_size((tessel_dtype)99), 0u);
  const char *names[] = {"f32", "f64", "f16", "bf16", "i8",  "i16", "i32",
                         "i64", "u8",  "u16", "u32",  "u64", "bool"};
  for (const char *name : names) {
    tessel_dtype d = tessel_dtype_from_name(name);
    EXPECT_NE(d, TESSEL_DTYPE_INVALID) << name;
    EXPECT_STREQ(tessel_dtype_name(d), name);
    EXPECT_GT(tessel_dtype_size(d), 0u);
  }
  EXPECT_EQ(tessel_dtype_from_name("float32"), TESSEL_DTYPE_INVALID);
  EXPECT_EQ(tessel_dtype_from_name(nullptr), TESSEL_DTYPE_INVALID);
  EXPECT_STREQ(tessel_dtype_name((tessel_dtype)99), "invalid");
}

TEST(Status, Strings) {
  EXPECT_STREQ(tessel_status_string(TESSEL_OK), "ok");
  EXPECT_STREQ(tessel_status_string(TESSEL_WEIGHTS_ERROR), "weights error");
  EXPECT_STREQ(tessel_status_string(TESSEL_DEVICE_ERROR), "device error");
  EXPECT_STREQ(tessel_status_string((tessel_status)77), "unknown status");
}

TEST(Status, LastErrorIsPerThread) {
  tessel_tensor *t = nullptr;
  int64_t dims[1] = {-3};
  ASSERT_EQ(tessel_tensor_create(TESSEL_DTYPE_F32, 1, dims, &t),
            TESSEL_INVALID_ARGUMENT);
  std::string mine = tessel_last_error();
  EXPECT_THAT(mine, HasSubstr("dim 0 is -3"));
  std::string theirs;
  std::thread other([&] {
    theirs = tessel_last_error(); // nothing failed on this thread yet
    tessel_model *m = nullptr;
    tessel_model_load("/nonexistent/model.so", &m);
  });
  other.join();
  EXPECT_EQ(theirs, "");
  EXPECT_EQ(tessel_last_error(), mine);
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

TEST(Tensor, CreateIsZeroedAndAligned) {
  int64_t dims[3] = {2, 3, 5};
  tessel_tensor *t = nullptr;
  ASSERT_EQ(tessel_tensor_create(TESSEL_DTYPE_F32, 3, dims, &t), TESSEL_OK);
  EXPECT_EQ(tessel_tensor_dtype(t), TESSEL_DTYPE_F32);
  EXPECT_EQ(tessel_tensor_rank(t), 3);
  EXPECT_EQ(tessel_tensor_dims(t)[2], 5);
  EXPECT_EQ(tessel_tensor_element_count(t), 30u);
  EXPECT_EQ(tessel_tensor_byte_size(t), 120u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(tessel_tensor_data(t)) % 64, 0u);
  const float *data = static_cast<const float *>(tessel_tensor_data(t));
  for (int i = 0; i < 30; ++i)
    EXPECT_EQ(data[i], 0.0f);
  tessel_tensor_free(t);
}

TEST(Tensor, ScalarAndEmpty) {
  tessel_tensor *scalar = nullptr, *empty = nullptr;
  ASSERT_EQ(tessel_tensor_create(TESSEL_DTYPE_I64, 0, nullptr, &scalar),
            TESSEL_OK);
  EXPECT_EQ(tessel_tensor_element_count(scalar), 1u);
  EXPECT_EQ(tessel_tensor_byte_size(scalar), 8u);
  EXPECT_EQ(tessel_tensor_dims(scalar), nullptr);
  int64_t dims[2] = {0, 7};
  ASSERT_EQ(tessel_tensor_create(TESSEL_DTYPE_F16, 2, dims, &empty), TESSEL_OK);
  EXPECT_EQ(tessel_tensor_element_count(empty), 0u);
  EXPECT_NE(tessel_tensor_data(empty), nullptr);
  tessel_tensor_free(scalar);
  tessel_tensor_free(empty);
}

TEST(Tensor, CreateRejectsBadArguments) {
  int64_t dims[2] = {2, 2};
  tessel_tensor *t = nullptr;
  EXPECT_EQ(tessel_tensor_create(TESSEL_DTYPE_F32, 2, dims, nullptr),
            TESSEL_INVALID_ARGUMENT);
  EXPECT_EQ(tessel_tensor_create(TESSEL_DTYPE_INVALID, 2, dims, &t),
            TESSEL_INVALID_ARGUMENT);
  EXPECT_EQ(tessel_tensor_create(TESSEL_DTYPE_F32, -1, dims, &t),
            TESSEL_INVALID_ARGUMENT);
  EXPECT_EQ(tessel_tensor_create(TESSEL_DTYPE_F32, 2, nullptr, &t),
            TESSEL_INVALID_ARGUMENT);
  int64_t huge[2] = {INT64_MAX, INT64_MAX};
  EXPECT_EQ(tessel_tensor_create(TESSEL_DTYPE_F32, 2, huge, &t),
            TESSEL_INVALID_ARGUMENT);
  EXPECT_THAT(std::string(tessel_last_error()), HasSubstr("too many elements"));
  EXPECT_EQ(t, nullptr);
}

TEST(Tensor, WrapKeepsCallerData) {
  float data[6] = {1, 2, 3, 4, 5, 6};
  int64_t dims[2] = {2, 3};
  tessel_tensor *t = nullptr;
  ASSERT_EQ(
      tessel_tensor_wrap(TESSEL_DTYPE_F32, 2, dims, data, sizeof(data), &t),
      TESSEL_OK);
  EXPECT_EQ(tessel_tensor_data(t), data);
  tessel_tensor_free(t); // must not free `data` (on the stack)
  EXPECT_EQ(data[5], 6.0f);

  EXPECT_EQ(tessel_tensor_wrap(TESSEL_DTYPE_F32, 2, dims, data, 20, &t),
            TESSEL_INVALID_ARGUMENT);
  EXPECT_THAT(std::string(tessel_last_error()),
              HasSubstr("needs 24 bytes, but data holds 20"));
  int64_t none[1] = {0};
  EXPECT_EQ(tessel_tensor_wrap(TESSEL_DTYPE_F32, 1, none, nullptr, 0, &t),
            TESSEL_OK);
  tessel_tensor_free(t);
  EXPECT_EQ(tessel_tensor_wrap(TESSEL_DTYPE_F32, 2, dims, nullptr, 24, &t),
            TESSEL_INVALID_ARGUMENT);
}

TEST(Tensor, FreeNullIsNoop) {
  tessel_tensor_free(nullptr);
  tessel_model_free(nullptr);
  EXPECT_EQ(tessel_tensor_rank(nullptr), 0);
  EXPECT_EQ(tessel_model_input_count(nullptr), 0u);
}

//===----------------------------------------------------------------------===//
// Manifest
//===----------------------------------------------------------------------===//

TEST(Manifest, Parses) {
  Manifest m;
  Error e = parseManifest("tessel-model 1\n"
                          "target cpu\n"
                          "weights model%20v2.weights 4096 00000000deadBEEF\n"
                          "input input_ids i64 2 -1 -1\n"
                          "future-record whatever 1 2 3\n"
                          "input odd%25name%0A bool 0\n"
                          "output out f32 3 -1 -1 256\n",
                          "the manifest", m);
  ASSERT_FALSE(e.failed()) << e.message;
  EXPECT_EQ(m.version, 1u);
  EXPECT_EQ(m.target, "cpu");
  EXPECT_EQ(m.weightsFile, "model v2.weights");
  EXPECT_EQ(m.weightsSize, 4096u);
  EXPECT_EQ(m.weightsChecksum, 0xdeadbeefULL);
  ASSERT_EQ(m.inputs.size(), 2u);
  EXPECT_EQ(m.inputs[0].name, "input_ids");
  EXPECT_EQ(m.inputs[0].dtype, TESSEL_DTYPE_I64);
  EXPECT_EQ(m.inputs[0].dims, (std::vector<int64_t>{-1, -1}));
  EXPECT_EQ(m.inputs[1].name, "odd%name\n");
  EXPECT_EQ(m.inputs[1].dtype, TESSEL_DTYPE_BOOL);
  EXPECT_TRUE(m.inputs[1].dims.empty());
  ASSERT_EQ(m.outputs.size(), 1u);
  EXPECT_EQ(m.outputs[0].dims, (std::vector<int64_t>{-1, -1, 256}));
}

TEST(Manifest, NoWeights) {
  Manifest m;
  ASSERT_FALSE(parseManifest(kAddOneManifest, "m", m).failed());
  EXPECT_TRUE(m.weightsFile.empty());
  EXPECT_EQ(m.weightsSize, 0u);
}

struct BadManifest {
  const char *text;
  const char *message;
};

TEST(Manifest, Errors) {
  const BadManifest cases[] = {
      {"", "has no `tessel-model` record"},
      {"target cpu\ntessel-model 1\n", "line 1: the first record must be"},
      {"tessel-model 2\n", "line 1: manifest version 2, this runtime reads "
                           "version 1"},
      {"tessel-model one\n", "expected `tessel-model <version>`"},
      {"tessel-model 1\ninput x f8 1 4\n",
       "line 2: input 'x' has unknown dtype `f8`"},
      {"tessel-model 1\ninput x f32 2 4\n", "has rank 2 but 1 dims"},
      {"tessel-model 1\noutput y f32 1 -2\n", "has a bad dim `-2`"},
      {"tessel-model 1\ninput x f32 -1\n", "has a bad rank `-1`"},
      {"tessel-model 1\ninput x f32 1 4\ninput x f32 1 4\n",
       "line 3: two inputs are named 'x'"},
      {"tessel-model 1\ninput x%2 f32 0\n", "malformed input name `x%2`"},
      {"tessel-model 1\ninput x%zz f32 0\n", "malformed input name"},
      {"tessel-model 1\nweights w 16 xyz\n", "checksum `xyz` is not"},
      {"tessel-model 1\nweights w 16 12345678901234567\n",
       "is not a 64-bit hex number"},
      {"tessel-model 1\nweights - 16 0\n", "no weights file (`-`) but a size"},
      {"tessel-model 1\nweights a/b 16 0\n", "must not contain '/'"},
      {"tessel-model 1\nweights w 16\n", "expected `weights <file>"},
      {"tessel-model 1\nweights w 1 0\nweights w 1 0\n",
       "a second `weights` record"},
      {"tessel-model 1\ninput x\n", "expected `input <name> <dtype>"},
  };
  for (const BadManifest &c : cases) {
    Manifest m;
    Error e = parseManifest(c.text, "the manifest of 'm.so'", m);
    EXPECT_EQ(e.code, TESSEL_ABI_MISMATCH) << c.text;
    EXPECT_THAT(e.message, HasSubstr(c.message)) << c.text;
    EXPECT_THAT(e.message, HasSubstr("the manifest of 'm.so'")) << c.text;
  }
}

//===----------------------------------------------------------------------===//
// Weights checksum
//===----------------------------------------------------------------------===//

TEST(Weights, Checksum) {
  std::vector<char> data = weightsData();
  EXPECT_EQ(weightsChecksum(data.data(), data.size()), kWeightsChecksum);
  EXPECT_EQ(weightsChecksum(nullptr, 0), 0xcbf29ce484222325ULL);
  // A partial last word is zero-padded.
  const char three[8] = {1, 2, 3, 0, 0, 0, 0, 0};
  EXPECT_EQ(weightsChecksum(three, 3), weightsChecksum(three, 8));
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, LoadMissingFile) {
  std::string path = (dir / "missing.so").string();
  std::string message = loadFails(path, TESSEL_IO_ERROR);
  EXPECT_THAT(message, HasSubstr("'" + path + "' does not exist"));
}

TEST_F(RuntimeTest, LoadNullArguments) {
  tessel_model *m = nullptr;
  EXPECT_EQ(tessel_model_load(nullptr, &m), TESSEL_INVALID_ARGUMENT);
  EXPECT_EQ(tessel_model_load("", &m), TESSEL_INVALID_ARGUMENT);
  EXPECT_EQ(tessel_model_load("x.so", nullptr), TESSEL_INVALID_ARGUMENT);
}

TEST_F(RuntimeTest, LoadTextFile) {
  fs::path path = dir / "text.so";
  writeFile(path, "this is not a shared object\n");
  std::string message = loadFails(path.string(), TESSEL_NOT_A_MODEL);
  EXPECT_THAT(message, HasSubstr("not an ELF shared object"));
  EXPECT_THAT(message, HasSubstr(path.string()));
}

TEST_F(RuntimeTest, LoadDirectory) {
  std::string message = loadFails(dir.string(), TESSEL_IO_ERROR);
  EXPECT_THAT(message, HasSubstr("not a regular file"));
}

TEST_F(RuntimeTest, LoadSharedObjectThatIsNotAModel) {
  fs::path source = dir / "plain.c", library = dir / "plain.so";
  writeFile(source, "int plain_function(void) { return 42; }\n");
  std::string command = std::string(TESSEL_TEST_CC) + " -shared -fPIC -o '" +
                        library.string() + "' '" + source.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::string message = loadFails(library.string(), TESSEL_NOT_A_MODEL);
  EXPECT_THAT(message, HasSubstr("does not export tessel_model_abi_version"));
  EXPECT_THAT(message, HasSubstr(library.string()));
}

TEST_F(RuntimeTest, LoadAbiVersionMismatch) {
  std::string path = buildModel("v99", kAddOneManifest, "run_add_one",
                                "#define FAKE_ABI_VERSION 99\n");
  ASSERT_FALSE(path.empty());
  std::string message = loadFails(path, TESSEL_ABI_MISMATCH);
  EXPECT_THAT(message, HasSubstr("model ABI version 99"));
  EXPECT_THAT(message, HasSubstr("this runtime loads version 1"));
}

TEST_F(RuntimeTest, LoadMissingAbiSymbols) {
  std::string noManifest =
      buildModel("nomanifest", "", "run_add_one", "#define FAKE_NO_MANIFEST\n");
  ASSERT_FALSE(noManifest.empty());
  EXPECT_THAT(loadFails(noManifest, TESSEL_ABI_MISMATCH),
              HasSubstr("does not export tessel_model_manifest"));
  std::string noRun = buildModel("norun", kAddOneManifest, "run_add_one",
                                 "#define FAKE_NO_RUN\n");
  ASSERT_FALSE(noRun.empty());
  EXPECT_THAT(loadFails(noRun, TESSEL_ABI_MISMATCH),
              HasSubstr("does not export tessel_model_run"));
}

TEST_F(RuntimeTest, LoadMalformedManifest) {
  std::string path =
      buildModel("badmanifest", "tessel-model 1\ninput x f32 2 4\n");
  ASSERT_FALSE(path.empty());
  std::string message = loadFails(path, TESSEL_ABI_MISMATCH);
  EXPECT_THAT(message, HasSubstr("the manifest of '" + path + "', line 2"));
}

TEST_F(RuntimeTest, LoadAndDescribe) {
  std::string path = buildModel("add_one", kAddOneManifest);
  ASSERT_FALSE(path.empty());
  tessel_model *model = nullptr;
  ASSERT_EQ(tessel_model_load(path.c_str(), &model), TESSEL_OK)
      << tessel_last_error();
  EXPECT_EQ(tessel_model_input_count(model), 1u);
  EXPECT_EQ(tessel_model_output_count(model), 1u);
  EXPECT_STREQ(tessel_model_target(model), "cpu");
  EXPECT_EQ(tessel_model_weights_size(model), 0u);
  tessel_tensor_info info;
  ASSERT_EQ(tessel_model_input_info(model, 0, &info), TESSEL_OK);
  EXPECT_STREQ(info.name, "x");
  EXPECT_EQ(info.dtype, TESSEL_DTYPE_F32);
  ASSERT_EQ(info.rank, 2);
  EXPECT_EQ(info.dims[0], -1);
  EXPECT_EQ(info.dims[1], 4);
  EXPECT_EQ(tessel_model_output_info(model, 1, &info), TESSEL_INVALID_ARGUMENT);
  EXPECT_THAT(std::string(tessel_last_error()),
              HasSubstr("output index 1 is out of range"));
  EXPECT_EQ(tessel_model_input_info(model, 0, nullptr),
            TESSEL_INVALID_ARGUMENT);
  tessel_model_free(model);
}

TEST_F(RuntimeTest, LoadUnknownTarget) {
  std::string path = buildModel("tpu", "tessel-model 1\ntarget tpu\n"
                                       "weights - 0 0\n"
                                       "input x f32 2 -1 4\n"
                                       "output y f32 2 -1 4\n");
  ASSERT_FALSE(path.empty());
  std::string message = loadFails(path, TESSEL_ABI_MISMATCH);
  EXPECT_THAT(message, HasSubstr("is compiled for target 'tpu', which this "
                                 "runtime does not run"));
}

//===----------------------------------------------------------------------===//
// CUDA models without a GPU (CI machines have none)
//===----------------------------------------------------------------------===//

extern "C" {
void *_mlir_memref_to_llvm_alloc(size_t bytes);
void _mlir_memref_to_llvm_free(void *p);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t paramsCount);
void *mgpuModuleGetFunction(void *module, const char *name);
}

TEST_F(RuntimeTest, CudaModelWithoutGpu) {
  std::string why;
  if (gpu::available(why))
    GTEST_SKIP() << "this machine has a GPU";
  EXPECT_FALSE(why.empty());
  std::string path = buildModel("cuda", "tessel-model 1\ntarget cuda\n"
                                        "weights - 0 0\n"
                                        "input x f32 2 -1 4\n"
                                        "output y f32 2 -1 4\n");
  ASSERT_FALSE(path.empty());
  std::string message = loadFails(path, TESSEL_DEVICE_ERROR);
  EXPECT_THAT(message, HasSubstr("is compiled for CUDA, but " + why));
  // CPU models still load and run afterwards.
  std::string cpu = buildModel("add_one", kAddOneManifest);
  tessel_model *model = nullptr;
  ASSERT_EQ(tessel_model_load(cpu.c_str(), &model), TESSEL_OK)
      << tessel_last_error();
  tessel_model_free(model);
}

TEST(GpuDevice, NoGpuFallsBackWithoutCrashing) {
  std::string why;
  if (gpu::available(why))
    GTEST_SKIP() << "this machine has a GPU";
  // What a CUDA model's host code calls: memory it can use, launches that
  // do nothing, no crash.
  auto *p = static_cast<char *>(_mlir_memref_to_llvm_alloc(4096));
  ASSERT_NE(p, nullptr);
  std::memset(p, 7, 4096);
  EXPECT_EQ(p[4095], 7);
  _mlir_memref_to_llvm_free(p);
  _mlir_memref_to_llvm_free(nullptr);
  EXPECT_EQ(mgpuModuleGetFunction(nullptr, "main_kernel"), nullptr);
  mgpuLaunchKernel(nullptr, 1, 1, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr,
                   0);
  EXPECT_FALSE(gpu::synchronize());
}

TEST_F(RuntimeTest, LoadRelativePathWithoutSlash) {
  // dlopen would search the library path for "m.so"; the runtime must not.
  std::string path = buildModel("m", kAddOneManifest);
  ASSERT_FALSE(path.empty());
  fs::path cwd = fs::current_path();
  fs::current_path(dir);
  tessel_model *model = nullptr;
  tessel_status s = tessel_model_load("m.so", &model);
  fs::current_path(cwd);
  EXPECT_EQ(s, TESSEL_OK) << tessel_last_error();
  tessel_model_free(model);
}

//===----------------------------------------------------------------------===//
// Weights files
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, WeightsGood) {
  WeightsFile weights;
  std::string path = buildWeighted(&weights);
  ASSERT_FALSE(path.empty());
  tessel_model *model = nullptr;
  ASSERT_EQ(tessel_model_load(path.c_str(), &model), TESSEL_OK)
      << tessel_last_error();
  EXPECT_EQ(tessel_model_weights_size(model), 16u);
  tessel_model_free(model);
}

TEST_F(RuntimeTest, WeightsMissing) {
  std::string path = buildWeighted(nullptr);
  ASSERT_FALSE(path.empty());
  std::string message = loadFails(path, TESSEL_WEIGHTS_ERROR);
  EXPECT_THAT(message,
              HasSubstr("weights file '" + (dir / "w.weights").string() +
                        "' does not exist"));
  EXPECT_THAT(message, HasSubstr("the manifest of '" + path + "'"));
}

TEST_F(RuntimeTest, WeightsBadMagic) {
  WeightsFile weights;
  weights.magic = "GGUF\x01\x02\x03\x04";
  std::string path = buildWeighted(&weights);
  ASSERT_FALSE(path.empty());
  std::string message = loadFails(path, TESSEL_WEIGHTS_ERROR);
  EXPECT_THAT(message, HasSubstr("w.weights' has a bad magic `GGUF\\x01"));
}

TEST_F(RuntimeTest, WeightsShorterThanHeader) {
  std::string path = buildWeighted(nullptr);
  ASSERT_FALSE(path.empty());
  writeFile(dir / "w.weights", "TSLWGT01");
  std::string message = loadFails(path, TESSEL_WEIGHTS_ERROR);
  EXPECT_THAT(message, HasSubstr("is 8 bytes, shorter than the 4096-byte "
                                 "header"));
}

TEST_F(RuntimeTest, WeightsSizeDiffersFromManifest) {
  WeightsFile weights;
  weights.data.resize(24, 0);
  weights.headerSize = 24;
  std::string path = buildWeighted(&weights);
  ASSERT_FALSE(path.empty());
  std::string message = loadFails(path, TESSEL_WEIGHTS_ERROR);
  EXPECT_THAT(message, HasSubstr("holds 24 bytes of data by its header, but "
                                 "the manifest of '" +
                                 path + "' says 16"));
}

TEST_F(RuntimeTest, WeightsTruncated) {
  WeightsFile weights;
  weights.extraBytes = -4;
  std::string path = buildWeighted(&weights);
  ASSERT_FALSE(path.empty());
  std::string message = loadFails(path, TESSEL_WEIGHTS_ERROR);
  EXPECT_THAT(message, HasSubstr("is 4108 bytes, but its header says 4096 + "
                                 "16 bytes of data: the file is truncated"));
}

TEST_F(RuntimeTest, WeightsTrailingBytes) {
  WeightsFile weights;
  weights.extraBytes = 3;
  std::string path = buildWeighted(&weights);
  ASSERT_FALSE(path.empty());
  EXPECT_THAT(loadFails(path, TESSEL_WEIGHTS_ERROR),
              HasSubstr("it has trailing bytes"));
}

TEST_F(RuntimeTest, WeightsHeaderChecksumDiffersFromManifest) {
  WeightsFile weights;
  weights.headerChecksum = 0x1234;
  std::string path = buildWeighted(&weights);
  ASSERT_FALSE(path.empty());
  std::string message = loadFails(path, TESSEL_WEIGHTS_ERROR);
  EXPECT_THAT(message, HasSubstr("has checksum 0000000000001234 in its "
                                 "header, but the manifest of '" +
                                 path + "' says 21b327dac52b6fed"));
}

TEST_F(RuntimeTest, WeightsCorruptData) {
  WeightsFile weights;
  weights.data[15] ^= 0x40;
  std::string path = buildWeighted(&weights);
  ASSERT_FALSE(path.empty());
  std::string message = loadFails(path, TESSEL_WEIGHTS_ERROR);
  EXPECT_THAT(message, HasSubstr("w.weights' is corrupt: its data has "
                                 "checksum"));
  EXPECT_THAT(message, HasSubstr("say 21b327dac52b6fed"));
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

class RunTest : public RuntimeTest {
protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    WeightsFile weights;
    std::string path = buildWeighted(&weights);
    ASSERT_FALSE(path.empty());
    ASSERT_EQ(tessel_model_load(path.c_str(), &model), TESSEL_OK)
        << tessel_last_error();
    ids = makeTensor(TESSEL_DTYPE_I64, {1, 3});
    x = makeTensor(TESSEL_DTYPE_F32, {2, 4});
    for (int i = 0; i < 3; ++i)
      static_cast<int64_t *>(tessel_tensor_data(ids))[i] = 10 + i;
    for (int i = 0; i < 8; ++i)
      static_cast<float *>(tessel_tensor_data(x))[i] = i * 0.5f;
  }
  void TearDown() override {
    tessel_tensor_free(ids);
    tessel_tensor_free(x);
    tessel_model_free(model);
    RuntimeTest::TearDown();
  }

  /// Runs with `inputs`, expecting `status`; returns the error message.
  std::string runFails(std::vector<tessel_tensor *> inputs,
                       tessel_status status) {
    tessel_tensor *outputs[3] = {reinterpret_cast<tessel_tensor *>(1),
                                 reinterpret_cast<tessel_tensor *>(1),
                                 reinterpret_cast<tessel_tensor *>(1)};
    EXPECT_EQ(tessel_model_run(model, inputs.data(), inputs.size(), outputs, 3),
              status);
    for (tessel_tensor *o : outputs)
      EXPECT_EQ(o, nullptr);
    return tessel_last_error();
  }

  tessel_model *model = nullptr;
  tessel_tensor *ids = nullptr, *x = nullptr;
};

TEST_F(RunTest, OutputsAndWeights) {
  tessel_tensor *inputs[2] = {ids, x};
  tessel_tensor *outputs[3] = {};
  ASSERT_EQ(tessel_model_run(model, inputs, 2, outputs, 3), TESSEL_OK)
      << tessel_last_error();
  // y = x + w[col]: the weights reached the model.
  ASSERT_EQ(tessel_tensor_rank(outputs[0]), 2);
  EXPECT_EQ(tessel_tensor_dims(outputs[0])[0], 2);
  const float *y = static_cast<const float *>(tessel_tensor_data(outputs[0]));
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(y[i], i * 0.5f + (i % 4 + 1)) << i;
  // n = sum(ids), a rank-0 output.
  EXPECT_EQ(tessel_tensor_rank(outputs[1]), 0);
  EXPECT_EQ(*static_cast<const int64_t *>(tessel_tensor_data(outputs[1])), 33);
  // t = transpose(y), returned strided at an offset: copied to row-major.
  ASSERT_EQ(tessel_tensor_rank(outputs[2]), 2);
  EXPECT_EQ(tessel_tensor_dims(outputs[2])[0], 4);
  EXPECT_EQ(tessel_tensor_dims(outputs[2])[1], 2);
  const float *t = static_cast<const float *>(tessel_tensor_data(outputs[2]));
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 2; ++c)
      EXPECT_EQ(t[r * 2 + c], y[c * 4 + r]) << r << "," << c;
  for (tessel_tensor *o : outputs)
    tessel_tensor_free(o);
}

TEST_F(RunTest, OutputsOutliveTheModel) {
  tessel_tensor *inputs[2] = {ids, x};
  tessel_tensor *outputs[3] = {};
  ASSERT_EQ(tessel_model_run(model, inputs, 2, outputs, 3), TESSEL_OK);
  tessel_model_free(model);
  model = nullptr;
  EXPECT_EQ(static_cast<const float *>(tessel_tensor_data(outputs[0]))[0],
            1.0f);
  for (tessel_tensor *o : outputs)
    tessel_tensor_free(o);
}

TEST_F(RunTest, WrappedInputs) {
  float xs[8] = {0, 0, 0, 0, 1, 1, 1, 1};
  int64_t dims[2] = {2, 4};
  tessel_tensor *wx = nullptr;
  ASSERT_EQ(tessel_tensor_wrap(TESSEL_DTYPE_F32, 2, dims, xs, sizeof(xs), &wx),
            TESSEL_OK);
  tessel_tensor *inputs[2] = {ids, wx};
  tessel_tensor *outputs[3] = {};
  ASSERT_EQ(tessel_model_run(model, inputs, 2, outputs, 3), TESSEL_OK);
  EXPECT_EQ(static_cast<const float *>(tessel_tensor_data(outputs[0]))[7],
            5.0f);
  for (tessel_tensor *o : outputs)
    tessel_tensor_free(o);
  tessel_tensor_free(wx);
}

TEST_F(RunTest, WrongInputCount) {
  EXPECT_THAT(runFails({ids}, TESSEL_INVALID_ARGUMENT),
              HasSubstr("the model takes 2 input(s), 1 given"));
}

TEST_F(RunTest, WrongOutputCount) {
  tessel_tensor *inputs[2] = {ids, x};
  tessel_tensor *outputs[2] = {};
  EXPECT_EQ(tessel_model_run(model, inputs, 2, outputs, 2),
            TESSEL_INVALID_ARGUMENT);
  EXPECT_THAT(std::string(tessel_last_error()),
              HasSubstr("returns 3 output(s), room for 2"));
}

TEST_F(RunTest, NullInput) {
  EXPECT_THAT(runFails({ids, nullptr}, TESSEL_INVALID_ARGUMENT),
              HasSubstr("input 'x' (#1) is NULL"));
}

TEST_F(RunTest, WrongDtype) {
  tessel_tensor *ids32 = makeTensor(TESSEL_DTYPE_I32, {1, 3});
  EXPECT_THAT(runFails({ids32, x}, TESSEL_DTYPE_MISMATCH),
              HasSubstr("input 'ids' (#0) has dtype i32, the model expects i64 "
                        "(expected i64 [?, ?], got i32 [1, 3])"));
  tessel_tensor_free(ids32);
}

TEST_F(RunTest, WrongRank) {
  tessel_tensor *x3 = makeTensor(TESSEL_DTYPE_F32, {2, 4, 1});
  EXPECT_THAT(runFails({ids, x3}, TESSEL_SHAPE_MISMATCH),
              HasSubstr("input 'x' (#1) has rank 3, the model expects rank 2 "
                        "(expected f32 [?, 4], got f32 [2, 4, 1])"));
  tessel_tensor_free(x3);
}

TEST_F(RunTest, WrongStaticDim) {
  tessel_tensor *x5 = makeTensor(TESSEL_DTYPE_F32, {2, 5});
  EXPECT_THAT(runFails({ids, x5}, TESSEL_SHAPE_MISMATCH),
              HasSubstr("input 'x' (#1) has dim 1 = 5, the model expects 4 "
                        "(expected f32 [?, 4], got f32 [2, 5])"));
  tessel_tensor_free(x5);
}

TEST_F(RunTest, DynamicDimsAcceptAnySize) {
  tessel_tensor *ids7 = makeTensor(TESSEL_DTYPE_I64, {7, 2});
  tessel_tensor *x9 = makeTensor(TESSEL_DTYPE_F32, {9, 4});
  tessel_tensor *inputs[2] = {ids7, x9};
  tessel_tensor *outputs[3] = {};
  ASSERT_EQ(tessel_model_run(model, inputs, 2, outputs, 3), TESSEL_OK);
  EXPECT_EQ(tessel_tensor_dims(outputs[0])[0], 9);
  EXPECT_EQ(tessel_tensor_dims(outputs[2])[1], 9);
  for (tessel_tensor *o : outputs)
    tessel_tensor_free(o);
  tessel_tensor_free(ids7);
  tessel_tensor_free(x9);
}

TEST_F(RunTest, ConcurrentRuns) {
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int i = 0; i < 50; ++i) {
        tessel_tensor *inputs[2] = {ids, x};
        tessel_tensor *outputs[3] = {};
        if (tessel_model_run(model, inputs, 2, outputs, 3) == TESSEL_OK)
          ++ok[k];
        for (tessel_tensor *o : outputs)
          tessel_tensor_free(o);
      }
    });
  for (std::thread &t : threads)
    t.join();
  for (int k = 0; k < 4; ++k)
    EXPECT_EQ(ok[k], 50);
}

//===----------------------------------------------------------------------===//
// Outputs the model did not malloc for this run
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, OutputAliasingAnInputIsCopied) {
  std::string path = buildModel("identity",
                                "tessel-model 1\ninput x f32 1 -1\n"
                                "output y f32 1 -1\n",
                                "run_identity");
  ASSERT_FALSE(path.empty());
  tessel_model *model = nullptr;
  ASSERT_EQ(tessel_model_load(path.c_str(), &model), TESSEL_OK);
  float data[3] = {1, 2, 3};
  int64_t dims[1] = {3};
  tessel_tensor *x = nullptr, *y = nullptr;
  ASSERT_EQ(
      tessel_tensor_wrap(TESSEL_DTYPE_F32, 1, dims, data, sizeof(data), &x),
      TESSEL_OK);
  ASSERT_EQ(tessel_model_run(model, &x, 1, &y, 1), TESSEL_OK);
  EXPECT_NE(tessel_tensor_data(y), static_cast<void *>(data));
  EXPECT_EQ(static_cast<const float *>(tessel_tensor_data(y))[2], 3.0f);
  tessel_tensor_free(y); // must not free `data` (on the stack)
  tessel_tensor_free(x);
  tessel_model_free(model);
}

TEST_F(RuntimeTest, OneBufferReturnedTwiceIsFreedOnce) {
  std::string path = buildModel("dup",
                                "tessel-model 1\ninput x f32 1 -1\n"
                                "output a f32 1 -1\noutput b f32 1 -1\n",
                                "run_dup");
  ASSERT_FALSE(path.empty());
  tessel_model *model = nullptr;
  ASSERT_EQ(tessel_model_load(path.c_str(), &model), TESSEL_OK);
  tessel_tensor *x = makeTensor(TESSEL_DTYPE_F32, {4});
  static_cast<float *>(tessel_tensor_data(x))[3] = 5;
  tessel_tensor *outputs[2] = {};
  ASSERT_EQ(tessel_model_run(model, &x, 1, outputs, 2), TESSEL_OK);
  EXPECT_NE(tessel_tensor_data(outputs[0]), tessel_tensor_data(outputs[1]));
  EXPECT_EQ(static_cast<const float *>(tessel_tensor_data(outputs[0]))[3], 10);
  EXPECT_EQ(static_cast<const float *>(tessel_tensor_data(outputs[1]))[3], 10);
  tessel_tensor_free(outputs[0]);
  tessel_tensor_free(outputs[1]);
  tessel_tensor_free(x);
  tessel_model_free(model);
}

TEST_F(RuntimeTest, OutputShapeAgainstManifest) {
  std::string path = buildModel("badshape",
                                "tessel-model 1\ninput x f32 1 2\n"
                                "output y f32 1 2\n",
                                "run_bad_shape");
  ASSERT_FALSE(path.empty());
  tessel_model *model = nullptr;
  ASSERT_EQ(tessel_model_load(path.c_str(), &model), TESSEL_OK);
  tessel_tensor *x = makeTensor(TESSEL_DTYPE_F32, {2});
  tessel_tensor *y = reinterpret_cast<tessel_tensor *>(1);
  EXPECT_EQ(tessel_model_run(model, &x, 1, &y, 1), TESSEL_INTERNAL);
  EXPECT_EQ(y, nullptr);
  EXPECT_THAT(std::string(tessel_last_error()),
              HasSubstr("the model returned output 'y' of shape [3], but its "
                        "manifest says [2]"));
  tessel_tensor_free(x);
  tessel_model_free(model);
}

//===----------------------------------------------------------------------===//
// C++ wrapper
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, CppWrapper) {
  auto missing = tessel::Model::load((dir / "missing.so").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), TESSEL_IO_ERROR);
  EXPECT_THAT(missing.status().message(), HasSubstr("does not exist"));

  std::string path = buildModel("add_one", kAddOneManifest);
  ASSERT_FALSE(path.empty());
  auto model = tessel::Model::load(path);
  ASSERT_TRUE(model) << model.status().message();
  std::vector<tessel::TensorInfo> inputs = model->inputs();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].name, "x");
  EXPECT_EQ(inputs[0].dims, (std::vector<int64_t>{-1, 4}));
  EXPECT_FALSE(model->output(5).has_value());

  std::vector<float> data = {1, 2, 3, 4};
  auto x = tessel::Tensor::wrap<float>({1, 4}, data.data(), data.size());
  ASSERT_TRUE(x);
  auto outputs = model->run({&*x});
  ASSERT_TRUE(outputs) << outputs.status().message();
  ASSERT_EQ(outputs->size(), 1u);
  const float *y = (*outputs)[0].data<float>();
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y[3], 5.0f);
  EXPECT_EQ((*outputs)[0].data<int64_t>(), nullptr); // wrong type: no data
  EXPECT_EQ((*outputs)[0].dims(), (std::vector<int64_t>{1, 4}));

  auto bad = tessel::Tensor::create(TESSEL_DTYPE_I64, {1, 4});
  ASSERT_TRUE(bad);
  auto failed = model->run({&*bad});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.status().code(), TESSEL_DTYPE_MISMATCH);
  EXPECT_STREQ(failed.status().codeString(), "dtype mismatch");
}

} // namespace
