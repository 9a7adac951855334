//===- KvBlockManagerTest.cpp - the paged KV cache's block manager --------===//
//
// Unit tests of each operation, and a randomized property test: >= 10^5
// random add / append / fork / free / preempt / prefix-hit operations on a
// small pool, checking every invariant after each one, with a shadow
// "storage" that records which token each slot holds, so a block written
// while shared (no copy-on-write) shows up as a sequence reading another
// sequence's token.
//
//===----------------------------------------------------------------------===//

#include "runtime/KvBlockManager.h"

#include <gtest/gtest.h>

#include <map>
#include <cstdio>
#include <random>

using namespace tessel::rt;

namespace {

/// Appends `tokens` to `seq` as the runtime does (reserve, write, commit),
/// writing each token id into `shadow` (block * blockTokens + slot).
KvStatus append(KvBlockManager &m, std::vector<int64_t> &shadow, int64_t seq,
                const std::vector<int64_t> &tokens, int64_t *copiesMade = nullptr) {
  std::vector<BlockCopy> copies;
  KvStatus st = m.reserve(seq, (int64_t)tokens.size(), copies);
  if (st != KvStatus::Ok)
    return st;
  int64_t bt = m.blockTokens();
  for (const BlockCopy &c : copies)
    std::copy(shadow.begin() + c.src * bt, shadow.begin() + (c.src + 1) * bt,
              shadow.begin() + c.dst * bt);
  if (copiesMade)
    *copiesMade += (int64_t)copies.size();
  int64_t base = m.length(seq);
  for (size_t i = 0; i < tokens.size(); ++i) {
    auto [block, slot] = m.slot(seq, base + (int64_t)i);
    EXPECT_GE(block, 0);
    shadow[block * bt + slot] = tokens[i];
  }
  return m.commit(seq, tokens.data(), (int64_t)tokens.size());
}

/// Every live position of every sequence reads back its own token.
std::string checkContents(const KvBlockManager &m,
                          const std::vector<int64_t> &shadow,
                          const std::vector<int64_t> &seqs) {
  int64_t bt = m.blockTokens();
  for (int64_t seq : seqs) {
    const std::vector<int64_t> &tokens = m.tokens(seq);
    const std::vector<int32_t> &table = m.blockTable(seq);
    for (int64_t p = 0; p < m.length(seq); ++p) {
      int32_t block = table[p / bt];
      if (block < 0)
        continue; // recycled by the window
      if (shadow[block * bt + p % bt] != tokens[p])
        return "sequence " + std::to_string(seq) + " position " +
               std::to_string(p) + " reads token " +
               std::to_string(shadow[block * bt + p % bt]) + ", wrote " +
               std::to_string(tokens[p]);
    }
  }
  return "";
}

std::vector<int64_t> range(int64_t from, int64_t n) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = from + i;
  return v;
}

TEST(KvBlockManager, AppendAcrossBlocks) {
  KvBlockManager m(8, 16);
  std::vector<int64_t> shadow(8 * 16, -1);
  int64_t s = m.createSequence();
  ASSERT_EQ(append(m, shadow, s, range(0, 20)), KvStatus::Ok);
  EXPECT_EQ(m.length(s), 20);
  EXPECT_EQ(m.blockTable(s).size(), 2u);
  ASSERT_EQ(append(m, shadow, s, range(20, 12)), KvStatus::Ok);
  EXPECT_EQ(m.blockTable(s).size(), 2u);
  ASSERT_EQ(append(m, shadow, s, {99}), KvStatus::Ok);
  EXPECT_EQ(m.blockTable(s).size(), 3u);
  EXPECT_EQ(m.numUsed(), 3);
  EXPECT_EQ(m.checkInvariants(), "");
  EXPECT_EQ(checkContents(m, shadow, {s}), "");
}

TEST(KvBlockManager, ForkCopiesASharedPartialBlockBeforeWriting) {
  KvBlockManager m(8, 16);
  std::vector<int64_t> shadow(8 * 16, -1);
  int64_t a = m.createSequence();
  ASSERT_EQ(append(m, shadow, a, range(0, 20)), KvStatus::Ok);
  int64_t b = m.fork(a);
  EXPECT_EQ(m.blockTable(a), m.blockTable(b));
  EXPECT_EQ(m.refCount(m.blockTable(a)[1]), 2);
  int32_t shared = m.blockTable(a)[1];
  std::vector<BlockCopy> copies;
  ASSERT_EQ(m.reserve(b, 1, copies), KvStatus::Ok);
  ASSERT_EQ(copies.size(), 1u);
  // The storage executes the copy (what KvStorage::copy does).
  std::copy(shadow.begin() + copies[0].src * 16,
            shadow.begin() + (copies[0].src + 1) * 16,
            shadow.begin() + copies[0].dst * 16);
  EXPECT_EQ(copies[0].src, shared);
  EXPECT_EQ(m.blockTable(a)[1], shared); // the original keeps its block
  EXPECT_EQ(m.blockTable(b)[1], copies[0].dst);
  EXPECT_EQ(m.blockTable(a)[0], m.blockTable(b)[0]); // full blocks stay shared
  ASSERT_EQ(m.unreserve(b), KvStatus::Ok);
  EXPECT_EQ(m.checkInvariants(), "");
  ASSERT_EQ(append(m, shadow, b, {500}), KvStatus::Ok);
  ASSERT_EQ(append(m, shadow, a, {600}), KvStatus::Ok);
  EXPECT_EQ(checkContents(m, shadow, {a, b}), "");
  EXPECT_EQ(m.checkInvariants(), "");
}

TEST(KvBlockManager, PrefixHitsReuseWholeBlocks) {
  KvBlockManager m(16, 16);
  std::vector<int64_t> shadow(16 * 16, -1);
  std::vector<int64_t> prompt = range(100, 40);
  int64_t a = m.createSequence();
  EXPECT_EQ(m.matchPrefix(a, prompt.data(), 40), 0);
  ASSERT_EQ(append(m, shadow, a, prompt), KvStatus::Ok);
  int64_t b = m.createSequence();
  EXPECT_EQ(m.matchPrefix(b, prompt.data(), 40), 32);
  EXPECT_EQ(m.blockTable(b)[0], m.blockTable(a)[0]);
  EXPECT_EQ(m.blockTable(b)[1], m.blockTable(a)[1]);
  ASSERT_EQ(append(m, shadow, b, range(132, 8)), KvStatus::Ok);
  // A different prompt: no hit.
  std::vector<int64_t> other = range(7, 40);
  int64_t c = m.createSequence();
  EXPECT_EQ(m.matchPrefix(c, other.data(), 40), 0);
  // A prompt of exactly two blocks keeps its last block to compute.
  int64_t d = m.createSequence();
  EXPECT_EQ(m.matchPrefix(d, prompt.data(), 32), 16);
  EXPECT_EQ(m.checkInvariants(), "");
  // Freed blocks stay cached (evictable) and are revived by a hit.
  m.freeSequence(a);
  m.freeSequence(b);
  m.freeSequence(d);
  EXPECT_EQ(m.numUsed(), 0);
  int64_t e = m.createSequence();
  EXPECT_EQ(m.matchPrefix(e, prompt.data(), 40), 32);
  EXPECT_EQ(m.numUsed(), 2);
  EXPECT_EQ(m.checkInvariants(), "");
  EXPECT_EQ(checkContents(m, shadow, {e}), "");
}

TEST(KvBlockManager, EvictableBlocksAreReusedLast) {
  KvBlockManager m(3, 4);
  std::vector<int64_t> shadow(3 * 4, -1);
  int64_t a = m.createSequence();
  ASSERT_EQ(append(m, shadow, a, range(0, 8)), KvStatus::Ok); // 2 cached
  m.freeSequence(a);
  EXPECT_EQ(m.numFree(), 3);
  int64_t b = m.createSequence();
  ASSERT_EQ(append(m, shadow, b, {1}), KvStatus::Ok); // the uncached block
  int64_t c = m.createSequence();
  std::vector<int64_t> again = range(0, 9);
  EXPECT_EQ(m.matchPrefix(c, again.data(), 9), 8); // both still cached
  m.freeSequence(c);
  ASSERT_EQ(append(m, shadow, b, range(2, 8)), KvStatus::Ok); // evicts
  int64_t d = m.createSequence();
  EXPECT_EQ(m.matchPrefix(d, again.data(), 9), 0);
  EXPECT_EQ(m.checkInvariants(), "");
}

TEST(KvBlockManager, SlidingWindowRecyclesBlocks) {
  KvBlockManager m(8, 16, /*windowTokens=*/32);
  std::vector<int64_t> shadow(8 * 16, -1);
  int64_t s = m.createSequence();
  ASSERT_EQ(append(m, shadow, s, range(0, 80)), KvStatus::Ok);
  // Keys >= 80 - 32 = 48 stay: blocks 0-2 (tokens 0..47) are released.
  const std::vector<int32_t> &table = m.blockTable(s);
  ASSERT_EQ(table.size(), 5u);
  EXPECT_EQ(table[0], -1);
  EXPECT_EQ(table[1], -1);
  EXPECT_EQ(table[2], -1);
  EXPECT_GE(table[3], 0);
  EXPECT_EQ(m.numUsed(), 2);
  EXPECT_EQ(m.checkInvariants(), "");
  EXPECT_EQ(checkContents(m, shadow, {s}), "");
}

TEST(KvBlockManager, PreemptKeepsTokensForRecomputation) {
  KvBlockManager m(4, 16);
  std::vector<int64_t> shadow(4 * 16, -1);
  int64_t s = m.createSequence();
  ASSERT_EQ(append(m, shadow, s, range(0, 40)), KvStatus::Ok);
  ASSERT_EQ(m.preempt(s), KvStatus::Ok);
  EXPECT_EQ(m.length(s), 0);
  EXPECT_EQ(m.tokens(s).size(), 40u);
  EXPECT_EQ(m.numUsed(), 0);
  std::vector<int64_t> kept = m.tokens(s);
  int64_t hit = m.matchPrefix(s, kept.data(), (int64_t)kept.size());
  EXPECT_EQ(hit, 32); // its own full blocks, still cached
  ASSERT_EQ(append(m, shadow, s,
                   std::vector<int64_t>(kept.begin() + hit, kept.end())),
            KvStatus::Ok);
  EXPECT_EQ(m.tokens(s), kept);
  EXPECT_EQ(m.checkInvariants(), "");
  EXPECT_EQ(checkContents(m, shadow, {s}), "");
}

TEST(KvBlockManager, ExhaustionChangesNothing) {
  KvBlockManager m(2, 16);
  std::vector<int64_t> shadow(2 * 16, -1);
  int64_t a = m.createSequence();
  ASSERT_EQ(append(m, shadow, a, range(0, 20)), KvStatus::Ok);
  int64_t b = m.fork(a);
  std::vector<int32_t> tableA = m.blockTable(a), tableB = m.blockTable(b);
  std::vector<BlockCopy> copies;
  // b needs a copy of the shared partial block and one more block.
  EXPECT_EQ(m.reserve(b, 13, copies), KvStatus::PoolExhausted);
  EXPECT_TRUE(copies.empty());
  EXPECT_EQ(m.blockTable(a), tableA);
  EXPECT_EQ(m.blockTable(b), tableB);
  EXPECT_EQ(m.numFree(), 0);
  EXPECT_EQ(m.checkInvariants(), "");
  EXPECT_EQ(m.reserve(12345, 1, copies), KvStatus::UnknownSequence);
}

TEST(KvBlockManager, BudgetArithmetic) {
  // 2 (k, v) * 24 layers * 32 heads * 64 dims * 2 bytes * 16 tokens.
  EXPECT_EQ(KvBlockManager::bytesPerBlock(24, 32, 64, 2, 16), 3145728);
  EXPECT_EQ(KvBlockManager::blocksForBudget(3145728 * 10 + 5, 24, 32, 64, 2,
                                            16),
            10);
  EXPECT_EQ(KvBlockManager::blocksForBudget(100, 24, 32, 64, 2, 16), 0);
}

/// Random operations with invariants and contents checked after each.
void randomOperations(int64_t window, uint64_t seed) {
  const int64_t blocks = 64, bt = 8, ops = 100000;
  KvBlockManager m(blocks, bt, window);
  std::vector<int64_t> shadow(blocks * bt, -1);
  std::vector<int64_t> live;
  std::mt19937_64 rng(seed);
  auto pick = [&](int64_t n) { return (int64_t)(rng() % (uint64_t)n); };
  std::map<std::string, int64_t> done;
  int64_t copies = 0;
  // Prompts from a few templates over a 4-token vocabulary: prefix hits.
  std::vector<std::vector<int64_t>> templates;
  for (int t = 0; t < 4; ++t) {
    std::vector<int64_t> p(40);
    for (auto &x : p)
      x = pick(4);
    templates.push_back(p);
  }
  for (int64_t i = 0; i < ops; ++i) {
    int64_t op = pick(100);
    if (live.empty() || op < 10) {
      int64_t s = m.createSequence();
      live.push_back(s);
      // A new sequence: try a prefix hit with a template prompt.
      const auto &t = templates[pick(4)];
      int64_t n = 1 + pick((int64_t)t.size());
      int64_t hit = m.matchPrefix(s, t.data(), n);
      done[hit > 0 ? "prefix hit" : "add"]++;
      if (append(m, shadow, s, std::vector<int64_t>(t.begin() + hit,
                                                    t.begin() + n),
                 &copies) == KvStatus::PoolExhausted) {
        done["exhausted"]++;
      }
    } else if (op < 55) {
      int64_t s = live[pick((int64_t)live.size())];
      std::vector<int64_t> tokens(1 + pick(12));
      for (auto &x : tokens)
        x = pick(4);
      if (m.length(s) == 0) {
        // A preempted sequence comes back: recompute its kept tokens.
        std::vector<int64_t> kept = m.tokens(s);
        int64_t hit = m.matchPrefix(s, kept.data(), (int64_t)kept.size());
        tokens.assign(kept.begin() + hit, kept.end());
        if (tokens.empty())
          tokens.push_back(pick(4));
        done["resume"]++;
      }
      KvStatus st = append(m, shadow, s, tokens, &copies);
      done[st == KvStatus::Ok ? "append" : "exhausted"]++;
    } else if (op < 68) {
      int64_t s = live[pick((int64_t)live.size())];
      live.push_back(m.fork(s));
      done["fork"]++;
    } else if (op < 93) {
      size_t k = pick((int64_t)live.size());
      ASSERT_EQ(m.freeSequence(live[k]), KvStatus::Ok);
      live.erase(live.begin() + k);
      done["free"]++;
    } else {
      ASSERT_EQ(m.preempt(live[pick((int64_t)live.size())]), KvStatus::Ok);
      done["preempt"]++;
    }
    std::string inv = m.checkInvariants();
    ASSERT_EQ(inv, "") << "after operation " << i;
    std::string contents = checkContents(m, shadow, live);
    ASSERT_EQ(contents, "") << "after operation " << i;
  }
  done["copy-on-write copies"] = copies;
  for (const auto &[what, n] : done)
    std::printf("  %-22s %lld\n", what.c_str(), (long long)n);
  for (const auto &[what, n] : done) {
    SCOPED_TRACE(what);
    EXPECT_GE(n, 300) << what << " happened only " << n << " times";
  }
}

TEST(KvBlockManager, RandomOperations) { randomOperations(0, 1); }
TEST(KvBlockManager, RandomOperationsWithWindow) { randomOperations(48, 2); }

} // namespace
