//===- Error.h - Internal status + message of the runtime -------*- C++ -*-===//
//
// What the runtime's internals return: a tessel_status with the message that
// tessel_last_error() will show. Nothing here is exported.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_RUNTIME_ERROR_H
#define TESSEL_RUNTIME_ERROR_H

#include "tessel/runtime.h"

#include <string>
#include <utility>

namespace tessel::rt {

/// A status code and, when it is not TESSEL_OK, the message saying why.
struct Error {
  tessel_status code = TESSEL_OK;
  std::string message;

  static Error success() { return Error(); }
  static Error make(tessel_status code, std::string message) {
    Error e;
    e.code = code;
    e.message = std::move(message);
    return e;
  }
  bool failed() const { return code != TESSEL_OK; }
};

} // namespace tessel::rt

#endif // TESSEL_RUNTIME_ERROR_H
