//===- Generation.cpp - KV caches, sequences, prefill/decode, sampling ----===//
//
// The C API of runtime.h's "KV cache and generation" section: a cache owns a
// block manager (KvBlockManager) and the blocks' memory (KvStorage); a step
// reserves room for every sequence of the batch, binds the batch for the
// model's tessel_rt_kv_attention calls, runs the `prefill` or `decode` entry
// point, and commits the new tokens.
//
//===----------------------------------------------------------------------===//

#include "tessel/runtime.h"

#include "runtime/GpuDevice.h"
#include "runtime/Handles.h"
#include "runtime/KvCache.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <unordered_set>

using namespace tessel::rt;

struct tessel_kv_cache {
  tessel_model *model = nullptr;
  const EntrySpec *prefill = nullptr;
  const EntrySpec *decode = nullptr;
  void (*prefillFn)(void **) = nullptr;
  void (*decodeFn)(void **) = nullptr;
  int64_t vocab = 0;
  std::unique_ptr<KvBlockManager> blocks;
  std::unique_ptr<KvStorage> storage;
  // Sequences handed out and not freed.
  std::unordered_set<int64_t> sequences;
};

struct tessel_sampler {
  tessel_sampling_params params;
  std::mt19937_64 generator;
};

namespace {

constexpr int64_t kDefaultBlockTokens = 16;
constexpr uint64_t kDefaultBudget = 64ull << 20;
constexpr double kDefaultGpuFraction = 0.5;

Error invalid(std::string message) {
  return Error::make(TESSEL_INVALID_ARGUMENT, std::move(message));
}

/// The entry named `name`, and its function.
const EntrySpec *findEntry(const tessel_model &model, const char *name,
                           void (**fn)(void **)) {
  const auto &entries = model.manifest.entries;
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].name == name) {
      *fn = model.entryFunctions[i];
      return &entries[i];
    }
  return nullptr;
}

/// The logits' width of a prefill/decode entry ([batch, vocab]).
int64_t vocabOf(const EntrySpec &entry) {
  if (entry.outputs.size() != 1 || entry.outputs[0].dims.size() != 2)
    return 0;
  return entry.outputs[0].dims[1];
}

Error checkSequence(const tessel_kv_cache &cache, int64_t sequence) {
  if (!cache.sequences.count(sequence))
    return invalid("unknown sequence " + std::to_string(sequence));
  return Error::success();
}

Error fromKvStatus(KvStatus status, const std::string &what) {
  switch (status) {
  case KvStatus::Ok:
    return Error::success();
  case KvStatus::PoolExhausted:
    return Error::make(TESSEL_KV_CACHE_FULL,
                       what + ": the KV cache has no free block left (free "
                              "or preempt a sequence, or give the cache a "
                              "larger budget)");
  case KvStatus::UnknownSequence:
    return invalid(what + ": unknown sequence");
  case KvStatus::InvalidArgument:
    break;
  }
  return invalid(what + ": invalid argument");
}

/// One step: appends `newTokens` tokens to each of `sequences` (`tokens` is
/// [batch, newTokens]) and writes each sequence's last logits.
Error runStep(tessel_kv_cache &cache, bool decode,
              const std::vector<int64_t> &sequences,
              const std::vector<int64_t> &tokens, int64_t newTokens,
              float *logits) {
  int64_t batch = (int64_t)sequences.size();
  KvBlockManager &blocks = *cache.blocks;
  // Room for the new tokens; copy-on-write of shared partial blocks. A
  // failure leaves every sequence as it was.
  std::vector<BlockCopy> copies;
  for (int64_t b = 0; b < batch; ++b) {
    KvStatus status = blocks.reserve(sequences[b], newTokens, copies);
    if (status != KvStatus::Ok) {
      // Copies already made replaced shared blocks: their data must follow.
      if (!cache.storage->copy(copies))
        return Error::make(TESSEL_DEVICE_ERROR,
                           "copying KV cache blocks failed: " +
                               gpu::stickyError());
      for (int64_t r = 0; r < b; ++r)
        blocks.unreserve(sequences[r]);
      return fromKvStatus(status, decode ? "decode" : "prefill");
    }
  }
  if (!cache.storage->copy(copies)) {
    for (int64_t s : sequences)
      blocks.unreserve(s);
    return Error::make(TESSEL_DEVICE_ERROR,
                       "copying KV cache blocks failed: " + gpu::stickyError());
  }

  KvStep step;
  step.blocks = &blocks;
  step.storage = cache.storage.get();
  step.sequences = sequences;
  step.newTokens = newTokens;
  for (int64_t s : sequences)
    step.pastLengths.push_back(blocks.length(s));

  int64_t idsDims[2] = {batch, newTokens};
  std::unique_ptr<tessel_tensor> ids, past;
  if (Error e = newTensor(TESSEL_DTYPE_I64, 2, idsDims, ids); e.failed())
    return e;
  if (Error e = newTensor(TESSEL_DTYPE_I64, 1, &batch, past); e.failed())
    return e;
  std::memcpy(ids->data, tokens.data(), tokens.size() * sizeof(int64_t));
  std::memcpy(past->data, step.pastLengths.data(), batch * sizeof(int64_t));

  const EntrySpec &entry = decode ? *cache.decode : *cache.prefill;
  tessel_tensor *inputs[2] = {ids.get(), past.get()};
  tessel_tensor *output = nullptr;
  Error e;
  {
    KvStepBinding binding(step);
    e = runModelFunction(*cache.model, decode ? cache.decodeFn : cache.prefillFn,
                         entry.inputs, entry.outputs, inputs, 2, &output, 1);
  }
  std::unique_ptr<tessel_tensor> owned(output);
  if (e.failed() || !step.error.empty()) {
    for (int64_t s : sequences)
      blocks.unreserve(s);
    if (e.failed())
      return e;
    return Error::make(TESSEL_INTERNAL, step.error);
  }
  for (int64_t b = 0; b < batch; ++b) {
    KvStatus status =
        blocks.commit(sequences[b], tokens.data() + b * newTokens, newTokens);
    if (status != KvStatus::Ok)
      return fromKvStatus(status, "committing the step");
  }
  if (logits)
    std::memcpy(logits, output->data, batch * cache.vocab * sizeof(float));
  return Error::success();
}

} // namespace

extern "C" {

int tessel_model_has_kv_cache(const tessel_model *model) {
  return model && model->manifest.hasKvCache ? 1 : 0;
}

int64_t tessel_model_vocab_size(const tessel_model *model) {
  if (!tessel_model_has_kv_cache(model))
    return 0;
  const EntrySpec *prefill = model->manifest.entry("prefill");
  return prefill ? vocabOf(*prefill) : 0;
}

tessel_status tessel_kv_cache_create(tessel_model *model,
                                     const tessel_kv_cache_options *options,
                                     tessel_kv_cache **out) {
  return guarded([&]() -> Error {
    if (!out)
      return invalid("tessel_kv_cache_create: out is NULL");
    *out = nullptr;
    if (!model)
      return invalid("tessel_kv_cache_create: model is NULL");
    if (!model->manifest.hasKvCache)
      return invalid("model '" + model->path +
                     "' has no KV cache entry points (compile it with "
                     "tesselc --kv-cache)");
    const KvCacheSpec &spec = model->manifest.kvCache;
    const bool cuda = model->cuda;
    if (cuda ? spec.dtype != TESSEL_DTYPE_F32 && spec.dtype != TESSEL_DTYPE_F16 &&
                   spec.dtype != TESSEL_DTYPE_BF16
             : spec.dtype != TESSEL_DTYPE_F32)
      return invalid(std::string("the ") + (cuda ? "CUDA" : "CPU") +
                     " KV cache stores " +
                     (cuda ? "f32, f16 or bf16" : "f32 only") + ", model '" +
                     model->path + "' needs " + tessel_dtype_name(spec.dtype));
    const int64_t elementBytes = spec.dtype == TESSEL_DTYPE_F32 ? 4 : 2;
    std::string device;
    if (cuda && !gpu::available(device))
      return Error::make(TESSEL_DEVICE_ERROR,
                         "cannot create the KV cache of CUDA model '" +
                             model->path + "': " + device);
    auto cache = std::make_unique<tessel_kv_cache>();
    cache->model = model;
    cache->prefill = findEntry(*model, "prefill", &cache->prefillFn);
    cache->decode = findEntry(*model, "decode", &cache->decodeFn);
    if (!cache->prefill || !cache->decode)
      return Error::make(TESSEL_ABI_MISMATCH,
                         "model '" + model->path +
                             "' lacks the prefill/decode entry points");
    cache->vocab = vocabOf(*cache->prefill);
    if (cache->vocab <= 0 || vocabOf(*cache->decode) != cache->vocab)
      return Error::make(TESSEL_ABI_MISMATCH,
                         "model '" + model->path +
                             "': prefill/decode must return [batch, vocab] "
                             "logits with a static vocab");
    int64_t blockTokens = options && options->block_tokens
                              ? options->block_tokens
                              : kDefaultBlockTokens;
    if (blockTokens < 1 || blockTokens > 4096)
      return invalid("block_tokens must be in [1, 4096], got " +
                     std::to_string(blockTokens));
    double fraction = options ? options->budget_fraction : 0.0;
    if (!(fraction >= 0.0 && fraction <= 1.0))
      return invalid("budget_fraction must be in (0, 1], got " +
                     std::to_string(fraction));
    uint64_t budget = options ? options->budget_bytes : 0;
    if (budget == 0 && cuda) {
      size_t freeBytes = 0, totalBytes = 0;
      if (!gpu::memoryInfo(freeBytes, totalBytes))
        return Error::make(TESSEL_DEVICE_ERROR,
                           "cannot read the GPU's free memory: " +
                               gpu::stickyError());
      budget = (uint64_t)((double)freeBytes *
                          (fraction > 0.0 ? fraction : kDefaultGpuFraction));
    }
    if (budget == 0)
      budget = kDefaultBudget;
    int64_t numBlocks = KvBlockManager::blocksForBudget(
        (int64_t)std::min<uint64_t>(budget, INT64_MAX), spec.layers,
        spec.kvHeads, spec.headDim, elementBytes, blockTokens);
    if (numBlocks < 1)
      return invalid("a budget of " + std::to_string(budget) +
                     " bytes holds no block of " +
                     std::to_string(KvBlockManager::bytesPerBlock(
                         spec.layers, spec.kvHeads, spec.headDim,
                         elementBytes, blockTokens)) +
                     " bytes");
    if (numBlocks > INT32_MAX)
      numBlocks = INT32_MAX;
    int64_t window = spec.windowLeft >= 0 ? spec.windowLeft : 0;
    cache->blocks =
        std::make_unique<KvBlockManager>(numBlocks, blockTokens, window);
    cache->storage =
        std::make_unique<KvStorage>(spec, numBlocks, blockTokens, cuda);
    if (!cache->storage->allocated())
      return Error::make(TESSEL_OUT_OF_MEMORY,
                         "cannot allocate a KV cache of " +
                             std::to_string(budget) + " bytes" +
                             (cuda ? " on " + gpu::deviceName() : ""));
    *out = cache.release();
    return Error::success();
  });
}

void tessel_kv_cache_free(tessel_kv_cache *cache) { delete cache; }

int64_t tessel_kv_cache_block_count(const tessel_kv_cache *cache) {
  return cache ? cache->blocks->numBlocks() : 0;
}

int64_t tessel_kv_cache_free_block_count(const tessel_kv_cache *cache) {
  return cache ? cache->blocks->numFree() : 0;
}

tessel_status tessel_sequence_add(tessel_kv_cache *cache, int64_t *sequence) {
  return guarded([&]() -> Error {
    if (!cache || !sequence)
      return invalid("tessel_sequence_add: cache or sequence is NULL");
    *sequence = cache->blocks->createSequence();
    cache->sequences.insert(*sequence);
    return Error::success();
  });
}

tessel_status tessel_sequence_fork(tessel_kv_cache *cache, int64_t sequence,
                                   int64_t *child) {
  return guarded([&]() -> Error {
    if (!cache || !child)
      return invalid("tessel_sequence_fork: cache or child is NULL");
    if (Error e = checkSequence(*cache, sequence); e.failed())
      return e;
    *child = cache->blocks->fork(sequence);
    cache->sequences.insert(*child);
    return Error::success();
  });
}

tessel_status tessel_sequence_free(tessel_kv_cache *cache, int64_t sequence) {
  return guarded([&]() -> Error {
    if (!cache)
      return invalid("tessel_sequence_free: cache is NULL");
    if (Error e = checkSequence(*cache, sequence); e.failed())
      return e;
    cache->blocks->freeSequence(sequence);
    cache->sequences.erase(sequence);
    return Error::success();
  });
}

tessel_status tessel_sequence_preempt(tessel_kv_cache *cache,
                                      int64_t sequence) {
  return guarded([&]() -> Error {
    if (!cache)
      return invalid("tessel_sequence_preempt: cache is NULL");
    if (Error e = checkSequence(*cache, sequence); e.failed())
      return e;
    return fromKvStatus(cache->blocks->preempt(sequence), "preempt");
  });
}

int64_t tessel_sequence_length(const tessel_kv_cache *cache,
                               int64_t sequence) {
  if (!cache || !cache->sequences.count(sequence))
    return -1;
  return cache->blocks->length(sequence);
}

tessel_status tessel_prefill(tessel_kv_cache *cache, int64_t sequence,
                             const int64_t *tokens, int64_t n, float *logits) {
  return guarded([&]() -> Error {
    if (!cache)
      return invalid("tessel_prefill: cache is NULL");
    if (Error e = checkSequence(*cache, sequence); e.failed())
      return e;
    if (n < 0 || (n > 0 && !tokens))
      return invalid("tessel_prefill: bad token count or NULL tokens");
    KvBlockManager &blocks = *cache->blocks;
    std::vector<int64_t> prompt(tokens, tokens + n);
    if (blocks.length(sequence) == 0) {
      if (n == 0) // a preempted sequence: its kept tokens again
        prompt = blocks.tokens(sequence);
      if (prompt.empty())
        return invalid("tessel_prefill: no tokens to run");
      // Whole blocks of the prompt another sequence already computed.
      int64_t hit = blocks.matchPrefix(sequence, prompt.data(),
                                       (int64_t)prompt.size());
      prompt.erase(prompt.begin(), prompt.begin() + hit);
    } else if (n == 0) {
      return invalid("tessel_prefill: no tokens to run");
    }
    int64_t count = (int64_t)prompt.size();
    for (int64_t t : prompt)
      if (t < 0 || t >= cache->vocab)
        return invalid("tessel_prefill: token " + std::to_string(t) +
                       " is outside the vocabulary [0, " +
                       std::to_string(cache->vocab) + ")");
    return runStep(*cache, /*decode=*/false, {sequence}, prompt, count,
                   logits);
  });
}

tessel_status tessel_decode(tessel_kv_cache *cache, const int64_t *sequences,
                            const int64_t *tokens, int64_t n, float *logits) {
  return guarded([&]() -> Error {
    if (!cache)
      return invalid("tessel_decode: cache is NULL");
    if (n <= 0 || !sequences || !tokens)
      return invalid("tessel_decode: no sequences given");
    std::vector<int64_t> seqs(sequences, sequences + n);
    std::unordered_set<int64_t> seen;
    for (int64_t s : seqs) {
      if (Error e = checkSequence(*cache, s); e.failed())
        return e;
      if (!seen.insert(s).second)
        return invalid("tessel_decode: sequence " + std::to_string(s) +
                       " appears twice in one step");
      if (cache->blocks->length(s) == 0)
        return invalid("tessel_decode: sequence " + std::to_string(s) +
                       " is empty (prefill it first)");
    }
    for (int64_t i = 0; i < n; ++i)
      if (tokens[i] < 0 || tokens[i] >= cache->vocab)
        return invalid("tessel_decode: token " + std::to_string(tokens[i]) +
                       " is outside the vocabulary");
    return runStep(*cache, /*decode=*/true, seqs,
                   std::vector<int64_t>(tokens, tokens + n), 1, logits);
  });
}

tessel_status tessel_sampler_create(const tessel_sampling_params *params,
                                    tessel_sampler **out) {
  return guarded([&]() -> Error {
    if (!out || !params)
      return invalid("tessel_sampler_create: params or out is NULL");
    *out = nullptr;
    if (!std::isfinite(params->temperature) || params->top_k < 0 ||
        !std::isfinite(params->top_p))
      return invalid("tessel_sampler_create: temperature and top_p must be "
                     "finite and top_k >= 0");
    auto sampler = std::make_unique<tessel_sampler>();
    sampler->params = *params;
    sampler->generator.seed(params->seed);
    *out = sampler.release();
    return Error::success();
  });
}

void tessel_sampler_free(tessel_sampler *sampler) { delete sampler; }

tessel_status tessel_sample(tessel_sampler *sampler, const float *logits,
                            int64_t vocab, int64_t *token) {
  return guarded([&]() -> Error {
    if (!sampler || !logits || !token || vocab <= 0)
      return invalid("tessel_sample: NULL argument or empty vocabulary");
    const tessel_sampling_params &p = sampler->params;
    // Greedy: the first maximum (NaN never wins).
    if (p.temperature <= 0) {
      int64_t best = 0;
      for (int64_t i = 1; i < vocab; ++i)
        if (logits[i] > logits[best] || std::isnan(logits[best]))
          best = i;
      *token = best;
      return Error::success();
    }
    std::vector<int64_t> order(vocab);
    std::iota(order.begin(), order.end(), 0);
    auto higher = [&](int64_t a, int64_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    };
    int64_t keep = p.top_k > 0 ? std::min<int64_t>(p.top_k, vocab) : vocab;
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), higher);
    order.resize(keep);
    std::vector<double> probs(keep);
    double top = logits[order[0]] / (double)p.temperature, sum = 0;
    for (int64_t i = 0; i < keep; ++i) {
      probs[i] = std::exp(logits[order[i]] / (double)p.temperature - top);
      sum += probs[i];
    }
    if (p.top_p > 0 && p.top_p < 1) {
      double mass = 0;
      int64_t cut = keep;
      for (int64_t i = 0; i < keep; ++i) {
        mass += probs[i] / sum;
        if (mass >= p.top_p) {
          cut = i + 1;
          break;
        }
      }
      probs.resize(cut);
      sum = std::accumulate(probs.begin(), probs.end(), 0.0);
    }
    // A uniform draw in [0, sum) from the top 53 bits: the same on every
    // platform for a seed.
    double u = (double)(sampler->generator() >> 11) * 0x1.0p-53 * sum;
    int64_t chosen = (int64_t)probs.size() - 1;
    for (size_t i = 0; i < probs.size(); ++i) {
      if (u < probs[i]) {
        chosen = (int64_t)i;
        break;
      }
      u -= probs[i];
    }
    *token = order[chosen];
    return Error::success();
  });
}

} // extern "C"
