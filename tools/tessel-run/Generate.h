//===- Generate.h - tessel-run --generate ----------------------*- C++ -*-===//
//
// Token generation with a --kv-cache model: prefill each prompt, then decode
// every live sequence together, one token per step (continuous batching).
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_TOOLS_TESSEL_RUN_GENERATE_H
#define TESSEL_TOOLS_TESSEL_RUN_GENERATE_H

#include "tessel/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tessel::generation {

struct GenerateOptions {
  std::vector<std::vector<int64_t>> prompts;
  long maxNewTokens = 16;
  long parallel = 1;     // samples per prompt (forked after prefill)
  int64_t eos = -1;      // stop a sequence after this token (-1: never)
  tessel_sampling_params sampling = {0.0f, 0, 1.0f, 0};
  int64_t blockTokens = 0;   // 0: runtime default
  uint64_t budgetBytes = 0;  // 0: runtime default
  long bench = 0;            // timed repetitions (tokens/s)
};

/// Parses "1,2,3;4,5,6" into prompts; false (with `why`) when malformed.
bool parsePromptIds(const std::string &text,
                    std::vector<std::vector<int64_t>> &prompts,
                    std::string &why);

/// Generates and prints each sequence's new token ids on one line; returns
/// the process exit status.
int generate(tessel_model *model, const GenerateOptions &options);

} // namespace tessel::generation

#endif // TESSEL_TOOLS_TESSEL_RUN_GENERATE_H
