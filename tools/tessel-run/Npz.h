//===- Npz.h - Read and write NumPy .npz archives ---------------*- C++ -*-===//
//
// What tessel-run needs of NumPy's formats: .npz (a zip archive of stored or
// deflated members) of .npy arrays (format versions 1, 2 and 3), with
// little-endian numeric and bool dtypes in C order.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_TOOLS_TESSEL_RUN_NPZ_H
#define TESSEL_TOOLS_TESSEL_RUN_NPZ_H

#include "tessel/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tessel::npz {

struct Array {
  std::string name;  // the member name without `.npy`
  std::string descr; // as in the file, e.g. `<f4`
  tessel_dtype dtype = TESSEL_DTYPE_INVALID;
  std::vector<int64_t> shape;
  std::vector<char> data; // C order, little-endian
  size_t elementCount() const;
};

/// An array to write: `data` holds the product of `shape` elements of
/// `dtype`, in C order.
struct ArrayView {
  std::string name;
  tessel_dtype dtype = TESSEL_DTYPE_INVALID;
  std::vector<int64_t> shape;
  const void *data = nullptr;
  size_t bytes = 0;
};

/// Reads every array of the archive at `path`, in archive order. On failure
/// returns false and sets `error` to a message naming the file (and member).
bool readNpz(const std::string &path, std::vector<Array> &arrays,
             std::string &error);

/// Writes an archive of stored (uncompressed) .npy members, replacing
/// `path` only once it is complete. `notes` receives remarks for the user
/// (e.g. a dtype NumPy cannot spell).
bool writeNpz(const std::string &path, const std::vector<ArrayView> &arrays,
              std::string &error, std::vector<std::string> &notes);

/// `text` read from a file, fit for a message: bytes other than printable
/// ASCII as \xNN.
std::string printable(const std::string &text);

/// NumPy's name of a dtype: "float32", "int64", "bool", ...
const char *numpyName(tessel_dtype dtype);

} // namespace tessel::npz

#endif // TESSEL_TOOLS_TESSEL_RUN_NPZ_H
