//===- TensorImport.cpp - ONNX TensorProto to ElementsAttr ----------------===//
//
// Decodes initializers and tensor attributes. Every size is checked before
// anything is read: dims must be non-negative and their product must not
// overflow, the data must have exactly the bytes the dims promise, and
// external data must stay inside the model's folder and inside its file.
//
//===----------------------------------------------------------------------===//

#include "frontend/ImportContext.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::tessel;
using namespace mlir::tessel::onnx_import;

/// Tensors up to this many elements stay inline (shape constants, scalars);
/// larger ones become blob resources.
static constexpr int64_t kInlineElementLimit = 64;

TensorSource::TensorSource(MLIRContext *context, StringRef modelPath)
    : context(context), path(modelPath.str()) {
  SmallString<256> dir(modelPath);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  folder = std::string(dir);
}

InFlightDiagnostic TensorSource::error() const {
  return mlir::emitError(FileLineColLoc::get(context, path, 0, 0));
}

Type TensorSource::elementType(MLIRContext *context, int dataType) {
  Builder b(context);
  switch (dataType) {
  case onnx::TensorProto::FLOAT:
    return b.getF32Type();
  case onnx::TensorProto::DOUBLE:
    return b.getF64Type();
  case onnx::TensorProto::FLOAT16:
    return b.getF16Type();
  case onnx::TensorProto::BFLOAT16:
    return b.getBF16Type();
  case onnx::TensorProto::INT8:
    return b.getIntegerType(8);
  case onnx::TensorProto::INT16:
    return b.getIntegerType(16);
  case onnx::TensorProto::INT32:
    return b.getIntegerType(32);
  case onnx::TensorProto::INT64:
    return b.getIntegerType(64);
  case onnx::TensorProto::UINT8:
    return b.getIntegerType(8, /*isSigned=*/false);
  case onnx::TensorProto::UINT16:
    return b.getIntegerType(16, false);
  case onnx::TensorProto::UINT32:
    return b.getIntegerType(32, false);
  case onnx::TensorProto::UINT64:
    return b.getIntegerType(64, false);
  case onnx::TensorProto::BOOL:
    return b.getI1Type();
  default:
    return {};
  }
}

/// Bytes per element in ONNX raw_data (bool is one byte).
static int64_t rawElementBytes(Type type) {
  if (type.isInteger(1))
    return 1;
  return type.getIntOrFloatBitWidth() / 8;
}

/// A name usable as a resource key.
static std::string resourceKey(StringRef name) {
  std::string key;
  for (char c : name)
    key.push_back(llvm::isAlnum(c) || c == '_' || c == '.' ? c : '_');
  if (key.empty() || llvm::isDigit(key[0]))
    key.insert(0, "w_");
  return key;
}

/// Whether `candidate` (an absolute, symlink-resolved path) lies in `dir`.
static bool isInside(StringRef candidate, StringRef dir) {
  if (!candidate.starts_with(dir))
    return false;
  return candidate.size() == dir.size() ||
         llvm::sys::path::is_separator(candidate[dir.size()]);
}

FailureOr<ArrayRef<char>>
TensorSource::readExternal(const onnx::TensorProto &tensor,
                           int64_t expectedBytes, const Twine &what,
                           std::shared_ptr<llvm::MemoryBuffer> &owner) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &entry : tensor.external_data()) {
    const std::string &key = entry.key();
    const std::string &value = entry.value();
    if (key == "location") {
      location = value;
    } else if (key == "offset" || key == "length") {
      int64_t parsed;
      if (StringRef(value).getAsInteger(10, parsed) || parsed < 0)
        return error() << what << ": external data " << key << " '" << value
                       << "' is not a non-negative integer";
      (key == "offset" ? offset : length) = parsed;
    }
  }
  if (location.empty())
    return error() << what << ": external data has no location";
  // The path must name a file inside the model's folder: relative, no `..`,
  // and still inside after resolving symlinks.
  if (llvm::sys::path::is_absolute(location) ||
      llvm::sys::path::is_absolute(location, llvm::sys::path::Style::windows))
    return error() << what << ": external data path '" << location
                   << "' is absolute; it must be relative to the model folder";
  for (StringRef part : llvm::make_range(llvm::sys::path::begin(location),
                                         llvm::sys::path::end(location)))
    if (part == "..")
      return error() << what << ": external data path '" << location
                     << "' leaves the model folder";
  SmallString<256> joined(folder);
  llvm::sys::path::append(joined, location);
  SmallString<256> real, realFolder;
  if (llvm::sys::fs::real_path(joined, real) ||
      llvm::sys::fs::real_path(folder, realFolder))
    return error() << what << ": external data file '" << joined
                   << "' does not exist";
  if (!isInside(real, realFolder))
    return error() << what << ": external data path '" << location
                   << "' resolves outside the model folder (to '" << real
                   << "')";
  auto &buffer = mapped[real];
  if (!buffer) {
    auto file = llvm::MemoryBuffer::getFile(real, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
    if (!file)
      return error() << what << ": cannot read external data file '" << real
                     << "': " << file.getError().message();
    buffer = std::move(*file);
  }
  int64_t fileSize = buffer->getBufferSize();
  if (length < 0)
    length = expectedBytes;
  if (length != expectedBytes)
    return error() << what << ": external data length " << length
                   << " does not match the " << expectedBytes
                   << " bytes its dims and type need";
  if (offset > fileSize || length > fileSize - offset)
    return error() << what << ": external data at offset " << offset
                   << " with length " << length << " lies past the end of '"
                   << location << "' (" << fileSize << " bytes)";
  owner = buffer;
  return ArrayRef<char>(buffer->getBufferStart() + offset, length);
}

/// Appends the typed-field payload of `tensor` as raw little-endian bytes of
/// `type`; fails if the field holds the wrong number of values.
static bool typedFieldBytes(const onnx::TensorProto &tensor, Type type,
                            int64_t count, std::vector<char> &bytes,
                            int64_t &found) {
  auto append = [&](const auto &field, auto convert) {
    found = field.size();
    if (found != count)
      return false;
    for (auto v : field) {
      auto x = convert(v);
      const char *p = reinterpret_cast<const char *>(&x);
      bytes.insert(bytes.end(), p, p + sizeof(x));
    }
    return true;
  };
  unsigned width = type.isInteger(1) ? 8 : type.getIntOrFloatBitWidth();
  if (type.isF32())
    return append(tensor.float_data(), [](float v) { return v; });
  if (type.isF64())
    return append(tensor.double_data(), [](double v) { return v; });
  if (type.isF16() || type.isBF16() || (type.isInteger() && width <= 16) ||
      (type.isInteger(32) && !type.isUnsignedInteger())) {
    found = tensor.int32_data_size();
    if (found != count)
      return false;
    for (int32_t v : tensor.int32_data()) {
      const char *p = reinterpret_cast<const char *>(&v);
      bytes.insert(bytes.end(), p, p + width / 8);
    }
    return true;
  }
  if (type.isUnsignedInteger()) {
    found = tensor.uint64_data_size();
    if (found != count)
      return false;
    for (uint64_t v : tensor.uint64_data()) {
      const char *p = reinterpret_cast<const char *>(&v);
      bytes.insert(bytes.end(), p, p + width / 8);
    }
    return true;
  }
  return append(tensor.int64_data(), [](int64_t v) { return v; });
}

FailureOr<ElementsAttr> TensorSource::decode(const onnx::TensorProto &tensor,
                                             const Twine &what) {
  Type element = elementType(context, tensor.data_type());
  if (!element)
    return error() << what << ": unsupported tensor data type "
                   << tensor.data_type();
  SmallVector<int64_t> dims;
  int64_t count = 1;
  for (int64_t d : tensor.dims()) {
    if (d < 0)
      return error() << what << ": negative dim " << d;
    if (__builtin_mul_overflow(count, d, &count) || count > (int64_t(1) << 40))
      return error() << what << ": dims overflow (too many elements)";
    dims.push_back(d);
  }
  int64_t elementBytes = rawElementBytes(element);
  int64_t expectedBytes = count * elementBytes;
  auto type = RankedTensorType::get(dims, element);

  std::vector<char> converted;
  std::shared_ptr<llvm::MemoryBuffer> owner;
  ArrayRef<char> bytes;
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    auto external = readExternal(tensor, expectedBytes, what, owner);
    if (failed(external))
      return failure();
    bytes = *external;
  } else if (tensor.has_raw_data()) {
    const std::string &raw = tensor.raw_data();
    if ((int64_t)raw.size() != expectedBytes)
      return error() << what << ": raw_data has " << raw.size()
                     << " bytes but dims " << type << " need "
                     << expectedBytes;
    bytes = ArrayRef<char>(raw.data(), raw.size());
  } else {
    int64_t found = 0;
    if (!typedFieldBytes(tensor, element, count, converted, found))
      return error() << what << ": holds " << found
                     << " values but its dims " << type << " need " << count;
    bytes = converted;
  }

  if (element.isInteger(1)) {
    SmallVector<bool> values;
    for (char c : bytes)
      values.push_back(c != 0);
    return ElementsAttr(DenseElementsAttr::get(type, values));
  }
  if (count <= kInlineElementLimit) {
    bool isSplat = false;
    if (!DenseElementsAttr::isValidRawBuffer(type, bytes, isSplat))
      return error() << what << ": malformed data";
    return ElementsAttr(DenseElementsAttr::getFromRawBuffer(type, bytes));
  }

  // Weights: a blob resource. Mapped external data is used in place when it
  // is aligned for its element type; everything else is copied once.
  size_t align = std::max<int64_t>(elementBytes, 1);
  AsmResourceBlob blob;
  if (owner && reinterpret_cast<uintptr_t>(bytes.data()) % align == 0) {
    blob = AsmResourceBlob(bytes, align,
                           [owner](void *, size_t, size_t) mutable {
                             owner.reset();
                           },
                           /*dataIsMutable=*/false);
  } else {
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, align);
  }
  std::string key = resourceKey(tensor.name().empty() ? "tensor" : tensor.name());
  return ElementsAttr(
      DenseResourceElementsAttr::get(type, key, std::move(blob)));
}
