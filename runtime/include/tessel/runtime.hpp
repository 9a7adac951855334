//===- tessel/runtime.hpp - C++ wrapper of the tessel runtime ---*- C++ -*-===//
//
// Header-only RAII classes over tessel/runtime.h. Nothing here throws on
// purpose: calls that can fail return a Status, or a Result<T> that holds
// either a value or the Status (an `expected`-like type). Only a failing
// allocation of the wrapper's own std::vector/std::string can throw, as in
// any C++ code.
//
//   auto model = tessel::Model::load("model.so");
//   if (!model) { std::cerr << model.status().message() << "\n"; return 1; }
//   auto ids = tessel::Tensor::create(TESSEL_DTYPE_I64, {1, 8});
//   ...
//   auto outputs = model->run({&*ids, &*mask});
//   if (!outputs) ...
//   const float *logits = (*outputs)[0].data<float>();
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_RUNTIME_HPP
#define TESSEL_RUNTIME_HPP

#include "tessel/runtime.h"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tessel {

/// A status code and, on failure, the message of tessel_last_error() taken
/// when the call failed.
class Status {
public:
  Status() = default;
  Status(tessel_status code, std::string message)
      : code_(code), message_(std::move(message)) {}

  /// The status of a C call that just returned `code` on this thread.
  static Status fromCall(tessel_status code) {
    if (code == TESSEL_OK)
      return Status();
    return Status(code, tessel_last_error());
  }

  bool ok() const { return code_ == TESSEL_OK; }
  explicit operator bool() const { return ok(); }
  tessel_status code() const { return code_; }
  const std::string &message() const { return message_; }
  /// "weights error", ... (static string).
  const char *codeString() const { return tessel_status_string(code_); }

private:
  tessel_status code_ = TESSEL_OK;
  std::string message_;
};

/// Either a T or the Status saying why there is none. Accessing the value of
/// a failed Result is undefined behaviour, like std::optional.
template <typename T> class Result {
public:
  Result(T value) : value_(std::move(value)) {}
  Result(Status status) : status_(std::move(status)) {
    if (status_.ok()) // a Status without a value is always a failure
      status_ = Status(TESSEL_INTERNAL, "Result constructed from an ok Status");
  }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Status &status() const { return status_; }

  T &value() & { return *value_; }
  const T &value() const & { return *value_; }
  T &&value() && { return std::move(*value_); }
  T &operator*() & { return *value_; }
  const T &operator*() const & { return *value_; }
  T &&operator*() && { return std::move(*value_); }
  T *operator->() { return &*value_; }
  const T *operator->() const { return &*value_; }

private:
  std::optional<T> value_;
  Status status_;
};

/// The dtype of a C++ element type: DtypeOf<float>::value == F32, ...
template <typename T> struct DtypeOf;
#define TESSEL_DTYPE_OF(T, D)                                                  \
  template <> struct DtypeOf<T> { static constexpr tessel_dtype value = D; };
TESSEL_DTYPE_OF(float, TESSEL_DTYPE_F32)
TESSEL_DTYPE_OF(double, TESSEL_DTYPE_F64)
TESSEL_DTYPE_OF(int8_t, TESSEL_DTYPE_I8)
TESSEL_DTYPE_OF(int16_t, TESSEL_DTYPE_I16)
TESSEL_DTYPE_OF(int32_t, TESSEL_DTYPE_I32)
TESSEL_DTYPE_OF(int64_t, TESSEL_DTYPE_I64)
TESSEL_DTYPE_OF(uint8_t, TESSEL_DTYPE_U8)
TESSEL_DTYPE_OF(uint16_t, TESSEL_DTYPE_U16)
TESSEL_DTYPE_OF(uint32_t, TESSEL_DTYPE_U32)
TESSEL_DTYPE_OF(uint64_t, TESSEL_DTYPE_U64)
TESSEL_DTYPE_OF(bool, TESSEL_DTYPE_BOOL)
#undef TESSEL_DTYPE_OF

/// An owning handle to a tessel_tensor (move-only).
class Tensor {
public:
  Tensor() = default;
  /// Takes ownership of `tensor`.
  explicit Tensor(tessel_tensor *tensor) : tensor_(tensor) {}
  Tensor(const Tensor &) = delete;
  Tensor &operator=(const Tensor &) = delete;
  Tensor(Tensor &&other) noexcept : tensor_(other.release()) {}
  Tensor &operator=(Tensor &&other) noexcept {
    if (this != &other) {
      tessel_tensor_free(tensor_);
      tensor_ = other.release();
    }
    return *this;
  }
  ~Tensor() { tessel_tensor_free(tensor_); }

  /// A zeroed tensor whose data the runtime owns.
  static Result<Tensor> create(tessel_dtype dtype,
                               const std::vector<int64_t> &dims) {
    tessel_tensor *t = nullptr;
    tessel_status s = tessel_tensor_create(
        dtype, static_cast<int32_t>(dims.size()), dims.data(), &t);
    if (s != TESSEL_OK)
      return Status::fromCall(s);
    return Tensor(t);
  }

  /// A view of `data` (`bytes` long), which the caller keeps owning and
  /// keeps alive for as long as the tensor.
  static Result<Tensor> wrap(tessel_dtype dtype,
                             const std::vector<int64_t> &dims, void *data,
                             size_t bytes) {
    tessel_tensor *t = nullptr;
    tessel_status s = tessel_tensor_wrap(
        dtype, static_cast<int32_t>(dims.size()), dims.data(), data, bytes, &t);
    if (s != TESSEL_OK)
      return Status::fromCall(s);
    return Tensor(t);
  }

  /// A view of `count` elements of type T.
  template <typename T>
  static Result<Tensor> wrap(const std::vector<int64_t> &dims, T *data,
                             size_t count) {
    return wrap(DtypeOf<T>::value, dims, data, count * sizeof(T));
  }

  bool valid() const { return tensor_ != nullptr; }
  explicit operator bool() const { return valid(); }
  tessel_dtype dtype() const { return tessel_tensor_dtype(tensor_); }
  int32_t rank() const { return tessel_tensor_rank(tensor_); }
  std::vector<int64_t> dims() const {
    const int64_t *d = tessel_tensor_dims(tensor_);
    return d ? std::vector<int64_t>(d, d + rank()) : std::vector<int64_t>();
  }
  void *data() const { return tessel_tensor_data(tensor_); }
  /// The data as T, or nullptr when T is not the tensor's dtype.
  template <typename T> T *data() const {
    return DtypeOf<T>::value == dtype() ? static_cast<T *>(data()) : nullptr;
  }
  size_t elementCount() const { return tessel_tensor_element_count(tensor_); }
  size_t byteSize() const { return tessel_tensor_byte_size(tensor_); }

  tessel_tensor *get() const { return tensor_; }
  /// Gives up ownership; the caller frees the result.
  tessel_tensor *release() {
    tessel_tensor *t = tensor_;
    tensor_ = nullptr;
    return t;
  }

private:
  tessel_tensor *tensor_ = nullptr;
};

/// What the manifest says about one input or output (dims: -1 = dynamic).
struct TensorInfo {
  std::string name;
  tessel_dtype dtype = TESSEL_DTYPE_INVALID;
  std::vector<int64_t> dims;
};

/// An owning handle to a loaded tessel_model (move-only).
class Model {
public:
  Model() = default;
  /// Takes ownership of `model`.
  explicit Model(tessel_model *model) : model_(model) {}
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;
  Model(Model &&other) noexcept : model_(other.release()) {}
  Model &operator=(Model &&other) noexcept {
    if (this != &other) {
      tessel_model_free(model_);
      model_ = other.release();
    }
    return *this;
  }
  ~Model() { tessel_model_free(model_); }

  static Result<Model> load(const std::string &path) {
    tessel_model *m = nullptr;
    tessel_status s = tessel_model_load(path.c_str(), &m);
    if (s != TESSEL_OK)
      return Status::fromCall(s);
    return Model(m);
  }

  size_t inputCount() const { return tessel_model_input_count(model_); }
  size_t outputCount() const { return tessel_model_output_count(model_); }
  std::optional<TensorInfo> input(size_t index) const {
    return info(tessel_model_input_info, index);
  }
  std::optional<TensorInfo> output(size_t index) const {
    return info(tessel_model_output_info, index);
  }
  std::vector<TensorInfo> inputs() const {
    return all(tessel_model_input_info, inputCount());
  }
  std::vector<TensorInfo> outputs() const {
    return all(tessel_model_output_info, outputCount());
  }
  std::string target() const {
    const char *t = tessel_model_target(model_);
    return t ? t : "";
  }
  uint64_t weightsSize() const { return tessel_model_weights_size(model_); }

  /// Runs the model on `inputs` (in the manifest's order); the outputs, in
  /// order, on success.
  Result<std::vector<Tensor>> run(const std::vector<const Tensor *> &inputs) {
    std::vector<tessel_tensor *> in;
    in.reserve(inputs.size());
    for (const Tensor *t : inputs)
      in.push_back(t ? t->get() : nullptr);
    std::vector<tessel_tensor *> out(outputCount(), nullptr);
    tessel_status s =
        tessel_model_run(model_, in.data(), in.size(), out.data(), out.size());
    if (s != TESSEL_OK)
      return Status::fromCall(s);
    std::vector<Tensor> result;
    result.reserve(out.size());
    for (tessel_tensor *t : out)
      result.emplace_back(t);
    return Result<std::vector<Tensor>>(std::move(result));
  }
  Result<std::vector<Tensor>> run(std::initializer_list<const Tensor *> in) {
    return run(std::vector<const Tensor *>(in));
  }

  bool valid() const { return model_ != nullptr; }
  explicit operator bool() const { return valid(); }
  tessel_model *get() const { return model_; }
  tessel_model *release() {
    tessel_model *m = model_;
    model_ = nullptr;
    return m;
  }

private:
  using InfoFn = tessel_status (*)(const tessel_model *, size_t,
                                   tessel_tensor_info *);
  std::optional<TensorInfo> info(InfoFn fn, size_t index) const {
    tessel_tensor_info raw;
    if (fn(model_, index, &raw) != TESSEL_OK)
      return std::nullopt;
    TensorInfo info;
    info.name = raw.name;
    info.dtype = raw.dtype;
    if (raw.dims)
      info.dims.assign(raw.dims, raw.dims + raw.rank);
    return info;
  }
  std::vector<TensorInfo> all(InfoFn fn, size_t count) const {
    std::vector<TensorInfo> infos;
    for (size_t i = 0; i < count; ++i)
      if (std::optional<TensorInfo> one = info(fn, i))
        infos.push_back(std::move(*one));
    return infos;
  }

  tessel_model *model_ = nullptr;
};

} // namespace tessel

#endif // TESSEL_RUNTIME_HPP
