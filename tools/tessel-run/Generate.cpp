//===- Generate.cpp - tessel-run --generate -------------------------------===//

#include "tools/tessel-run/Generate.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>

using namespace tessel::generation;

namespace {

void fail(const char *what) {
  std::fprintf(stderr, "tessel-run: error: %s: %s\n", what,
               tessel_last_error());
}

struct CacheHandle {
  tessel_kv_cache *cache = nullptr;
  ~CacheHandle() { tessel_kv_cache_free(cache); }
};
struct SamplerHandle {
  tessel_sampler *sampler = nullptr;
  ~SamplerHandle() { tessel_sampler_free(sampler); }
};

/// One generated sequence.
struct Sequence {
  int64_t id = -1;
  std::vector<int64_t> generated;
  int64_t pending = -1; // sampled, not yet in the cache
  bool done = false;
};

struct Result {
  std::vector<std::vector<int64_t>> tokens; // per output line
  double seconds = 0;
  long newTokens = 0;
  long preemptions = 0;
};

/// Runs one whole generation; false after printing an error.
bool generateOnce(tessel_model *model, const GenerateOptions &o,
                  Result &result) {
  int64_t vocab = tessel_model_vocab_size(model);
  CacheHandle cache;
  tessel_kv_cache_options options = {o.blockTokens, o.budgetBytes};
  if (tessel_kv_cache_create(model, &options, &cache.cache) != TESSEL_OK) {
    fail("cannot create the KV cache");
    return false;
  }
  SamplerHandle sampler;
  if (tessel_sampler_create(&o.sampling, &sampler.sampler) != TESSEL_OK) {
    fail("bad sampling options");
    return false;
  }
  std::vector<float> logits(vocab);
  std::vector<Sequence> seqs;
  auto sample = [&](const float *row, Sequence &s) {
    int64_t token = 0;
    if (tessel_sample(sampler.sampler, row, vocab, &token) != TESSEL_OK) {
      fail("sampling");
      return false;
    }
    s.generated.push_back(token);
    s.pending = token;
    s.done = (long)s.generated.size() >= o.maxNewTokens || token == o.eos;
    return true;
  };

  auto start = std::chrono::steady_clock::now();
  // Prefill each prompt once; its samples are forks sharing the prompt's
  // blocks (copy-on-write when they diverge).
  for (const auto &prompt : o.prompts) {
    Sequence first;
    if (tessel_sequence_add(cache.cache, &first.id) != TESSEL_OK ||
        tessel_prefill(cache.cache, first.id, prompt.data(),
                       (int64_t)prompt.size(), logits.data()) != TESSEL_OK) {
      fail("prefill");
      return false;
    }
    std::vector<Sequence> group{first};
    for (long k = 1; k < o.parallel; ++k) {
      Sequence child;
      if (tessel_sequence_fork(cache.cache, first.id, &child.id) !=
          TESSEL_OK) {
        fail("fork");
        return false;
      }
      group.push_back(child);
    }
    for (Sequence &s : group)
      if (!sample(logits.data(), s))
        return false;
    seqs.insert(seqs.end(), group.begin(), group.end());
  }

  // Decode every live sequence together; when the cache is full, the
  // newest live sequence is preempted and resumed once blocks are free.
  std::deque<size_t> waiting;
  std::vector<float> batchLogits;
  // Resuming right after a preemption would only preempt again: wait until
  // a sequence finished and gave its blocks back (or nothing else runs).
  bool blocksFreed = false;
  for (;;) {
    std::vector<size_t> live;
    for (size_t i = 0; i < seqs.size(); ++i)
      if (!seqs[i].done &&
          std::find(waiting.begin(), waiting.end(), i) == waiting.end())
        live.push_back(i);
    if (live.empty() && waiting.empty())
      break;
    if (!waiting.empty() && (live.empty() || blocksFreed)) {
      // Resume the oldest preempted sequence if it fits now.
      size_t i = waiting.front();
      tessel_status st =
          tessel_prefill(cache.cache, seqs[i].id, nullptr, 0, nullptr);
      if (st == TESSEL_OK) {
        waiting.pop_front();
        continue;
      }
      blocksFreed = false;
      if (st != TESSEL_KV_CACHE_FULL || live.empty()) {
        fail("resuming a preempted sequence");
        return false;
      }
    }
    std::vector<int64_t> ids, tokens;
    for (size_t i : live) {
      ids.push_back(seqs[i].id);
      tokens.push_back(seqs[i].pending);
    }
    batchLogits.resize(live.size() * vocab);
    tessel_status st = tessel_decode(cache.cache, ids.data(), tokens.data(),
                                     (int64_t)ids.size(), batchLogits.data());
    if (st == TESSEL_KV_CACHE_FULL && live.size() > 1) {
      size_t victim = live.back();
      if (tessel_sequence_preempt(cache.cache, seqs[victim].id) != TESSEL_OK) {
        fail("preempt");
        return false;
      }
      waiting.push_back(victim);
      ++result.preemptions;
      blocksFreed = false;
      continue;
    }
    if (st != TESSEL_OK) {
      fail("generation stopped");
      return false;
    }
    for (size_t j = 0; j < live.size(); ++j) {
      Sequence &s = seqs[live[j]];
      if (!sample(batchLogits.data() + j * vocab, s))
        return false;
      // A finished sequence gives its blocks back at once.
      if (s.done) {
        if (tessel_sequence_free(cache.cache, s.id) != TESSEL_OK) {
          fail("freeing a finished sequence");
          return false;
        }
        blocksFreed = true;
      }
    }
  }
  result.seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  for (const Sequence &s : seqs) {
    result.tokens.push_back(s.generated);
    result.newTokens += (long)s.generated.size();
  }
  return true;
}

} // namespace

bool tessel::generation::parsePromptIds(const std::string &text,
                                 std::vector<std::vector<int64_t>> &prompts,
                                 std::string &why) {
  prompts.clear();
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(';', start);
    if (end == std::string::npos)
      end = text.size();
    std::string part = text.substr(start, end - start);
    std::vector<int64_t> prompt;
    size_t pos = 0;
    while (pos <= part.size()) {
      size_t comma = part.find(',', pos);
      if (comma == std::string::npos)
        comma = part.size();
      std::string field = part.substr(pos, comma - pos);
      char *stop = nullptr;
      long long v = std::strtoll(field.c_str(), &stop, 10);
      if (field.empty() || *stop != '\0' || v < 0) {
        why = "'" + field + "' in prompt " + std::to_string(prompts.size()) +
              " is not a token id (a non-negative integer)";
        return false;
      }
      prompt.push_back(v);
      pos = comma + 1;
    }
    prompts.push_back(std::move(prompt));
    start = end + 1;
  }
  return true;
}

int tessel::generation::generate(tessel_model *model, const GenerateOptions &o) {
  if (!tessel_model_has_kv_cache(model)) {
    std::fprintf(stderr,
                 "tessel-run: error: --generate needs a model compiled with "
                 "`tesselc --kv-cache` (this one has no prefill/decode entry "
                 "points)\n");
    return 1;
  }
  int64_t vocab = tessel_model_vocab_size(model);
  for (const auto &prompt : o.prompts)
    for (int64_t t : prompt)
      if (t >= vocab) {
        std::fprintf(stderr,
                     "tessel-run: error: token id %lld is outside the "
                     "model's vocabulary [0, %lld)\n",
                     (long long)t, (long long)vocab);
        return 1;
      }
  Result result;
  if (!generateOnce(model, o, result))
    return 1;
  for (const auto &line : result.tokens) {
    for (size_t i = 0; i < line.size(); ++i)
      std::printf(i ? " %lld" : "%lld", (long long)line[i]);
    std::printf("\n");
  }
  if (result.preemptions)
    std::fprintf(stderr,
                 "tessel-run: note: the KV cache was full %ld time(s); "
                 "sequences were preempted and recomputed\n",
                 result.preemptions);
  if (o.bench > 0) {
    std::vector<double> rates;
    for (long i = 0; i < o.bench; ++i) {
      Result timed;
      if (!generateOnce(model, o, timed))
        return 1;
      rates.push_back(timed.newTokens / timed.seconds);
    }
    std::sort(rates.begin(), rates.end());
    std::printf("benchmark: %ld generation(s) of %ld new tokens: median "
                "%.1f tokens/s, max %.1f tokens/s (prefill included)\n",
                o.bench, result.newTokens, rates[rates.size() / 2],
                rates.back());
  }
  return 0;
}
