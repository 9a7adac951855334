//===- Weights.cpp - Map and verify model.weights -------------------------===//

#include "runtime/Weights.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace tessel::rt;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the weights header and checksum are read as little-endian");

uint64_t tessel::rt::weightsChecksum(const void *data, size_t size) {
  const auto *bytes = static_cast<const unsigned char *>(data);
  uint64_t h = 0xcbf29ce484222325ULL;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
  }
  if (i < size) {
    uint64_t w = 0;
    std::memcpy(&w, bytes + i, size - i);
    h = (h ^ w) * 0x100000001b3ULL;
  }
  return h;
}

MappedWeights &MappedWeights::operator=(MappedWeights &&other) noexcept {
  if (this != &other) {
    reset();
    base = other.base;
    length = other.length;
    dataSize = other.dataSize;
    other.base = nullptr;
    other.length = 0;
    other.dataSize = 0;
  }
  return *this;
}

void MappedWeights::reset() {
  if (base)
    ::munmap(base, length);
  base = nullptr;
  length = 0;
  dataSize = 0;
}

namespace {

std::string hex16(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, v);
  return buf;
}

/// The magic as text, unprintable bytes as \xNN.
std::string printable(const char *bytes, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = bytes[i];
    if (c >= 0x20 && c < 0x7f) {
      s += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      s += buf;
    }
  }
  return s;
}

/// Closes a file descriptor on scope exit.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

Error tessel::rt::mapWeights(const std::string &path, uint64_t expectedSize,
                             uint64_t expectedChecksum,
                             const std::string &modelPath, MappedWeights &out) {
  out.reset();
  const std::string file = "weights file '" + path + "'";
  const std::string manifest = "the manifest of '" + modelPath + "'";
  auto weightsError = [&](const std::string &message) {
    return Error::make(TESSEL_WEIGHTS_ERROR, message);
  };

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT)
      return weightsError(file + " does not exist (" + manifest +
                          " names it; it must sit beside the model)");
    return Error::make(TESSEL_IO_ERROR,
                       "cannot open " + file + ": " + std::strerror(err));
  }
  FdCloser closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return Error::make(TESSEL_IO_ERROR,
                       "cannot stat " + file + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return weightsError(file + " is not a regular file");
  uint64_t length = static_cast<uint64_t>(st.st_size);
  if (length < kWeightsHeaderSize)
    return weightsError(file + " is " + std::to_string(length) +
                        " bytes, shorter than the " +
                        std::to_string(kWeightsHeaderSize) +
                        "-byte header: it is truncated or not a tessel "
                        "weights file");

  void *base = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd, 0);
  if (base == MAP_FAILED)
    return Error::make(TESSEL_IO_ERROR,
                       "cannot map " + file + ": " + std::strerror(errno));
  // From here on `out` owns the mapping, so every error path unmaps it.
  out.base = base;
  out.length = length;
  const char *header = static_cast<const char *>(base);

  if (std::memcmp(header, kWeightsMagic, sizeof(kWeightsMagic)) != 0) {
    std::string found = printable(header, sizeof(kWeightsMagic));
    out.reset();
    return weightsError(file + " has a bad magic `" + found +
                        "` (expected `TSLWGT01`): not a tessel weights file");
  }
  uint64_t headerSize, headerChecksum;
  std::memcpy(&headerSize, header + 8, 8);
  std::memcpy(&headerChecksum, header + 16, 8);

  if (headerSize != expectedSize) {
    out.reset();
    return weightsError(file + " holds " + std::to_string(headerSize) +
                        " bytes of data by its header, but " + manifest +
                        " says " + std::to_string(expectedSize) +
                        ": the weights do not belong to this model");
  }
  if (headerSize > length - kWeightsHeaderSize ||
      headerSize < length - kWeightsHeaderSize) {
    out.reset();
    return weightsError(
        file + " is " + std::to_string(length) +
        " bytes, but its header says " + std::to_string(kWeightsHeaderSize) +
        " + " + std::to_string(headerSize) + " bytes of data: " +
        (headerSize > length - kWeightsHeaderSize ? "the file is truncated"
                                                  : "it has trailing bytes"));
  }
  if (headerChecksum != expectedChecksum) {
    out.reset();
    return weightsError(file + " has checksum " + hex16(headerChecksum) +
                        " in its header, but " + manifest + " says " +
                        hex16(expectedChecksum) +
                        ": the weights do not belong to this model");
  }
  uint64_t actual = weightsChecksum(header + kWeightsHeaderSize, headerSize);
  if (actual != headerChecksum) {
    out.reset();
    return weightsError(file + " is corrupt: its data has checksum " +
                        hex16(actual) + ", its header and " + manifest +
                        " say " + hex16(headerChecksum));
  }
  out.dataSize = headerSize;
  return Error::success();
}
