//===- Weights.h - The model.weights file -----------------------*- C++ -*-===//
//
// docs/model-abi.md, "Weights file": a 4096-byte header (magic, data size,
// checksum) followed by the data, memory-mapped read-only and verified.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_RUNTIME_WEIGHTS_H
#define TESSEL_RUNTIME_WEIGHTS_H

#include "runtime/Error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace tessel::rt {

constexpr size_t kWeightsHeaderSize = 4096;
constexpr char kWeightsMagic[8] = {'T', 'S', 'L', 'W', 'G', 'T', '0', '1'};

/// FNV-1a over little-endian 64-bit words, the last one zero-padded.
uint64_t weightsChecksum(const void *data, size_t size);

/// A read-only mapping of a whole weights file; unmapped on destruction.
class MappedWeights {
public:
  MappedWeights() = default;
  MappedWeights(const MappedWeights &) = delete;
  MappedWeights &operator=(const MappedWeights &) = delete;
  MappedWeights(MappedWeights &&other) noexcept { *this = std::move(other); }
  MappedWeights &operator=(MappedWeights &&other) noexcept;
  ~MappedWeights() { reset(); }

  /// The data after the header (nullptr when not mapped).
  const char *data() const {
    return base ? static_cast<const char *>(base) + kWeightsHeaderSize
                : nullptr;
  }
  uint64_t size() const { return dataSize; }
  bool mapped() const { return base != nullptr; }
  void reset();

private:
  friend Error mapWeights(const std::string &, uint64_t, uint64_t,
                          const std::string &, MappedWeights &);
  void *base = nullptr;
  size_t length = 0;
  uint64_t dataSize = 0;
};

/// Maps the weights file at `path` and checks it against the manifest's
/// `expectedSize` and `expectedChecksum`: magic, header size == manifest
/// size, file length == header + size, header checksum == manifest checksum,
/// and the checksum of the data == both. Every error is TESSEL_WEIGHTS_ERROR
/// (TESSEL_IO_ERROR when the file exists but cannot be read or mapped) and
/// names the file; `modelPath` is the model.so whose manifest names it.
Error mapWeights(const std::string &path, uint64_t expectedSize,
                 uint64_t expectedChecksum, const std::string &modelPath,
                 MappedWeights &out);

} // namespace tessel::rt

#endif // TESSEL_RUNTIME_WEIGHTS_H
