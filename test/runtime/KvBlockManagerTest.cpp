//===- KvBlockManagerTest.cpp - the paged KV cache's block manager --------===//
//
// Unit tests of each operation, and a randomized property test: >= 10^5
// random add / prefix-hit / append / fork (also between reserve and commit)
// / unreserve / free / preempt / resume operations on a small pool, checking
// every invariant after each one, with a shadow "storage" that records which
// token each slot holds: a block written while shared or cached (no copy-on-
// write) shows up as a sequence reading another sequence's token. A failed
// reserve must leave a snapshot of the whole state unchanged.
//
//===----------------------------------------------------------------------===//

#include "runtime/KvBlockManager.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace tessel::rt;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// What KvStorage does with the data, one token id per slot.
struct Shadow {
  Shadow(const KvBlockManager &m)
      : bt(m.blockTokens()), slots(m.numBlocks() * m.blockTokens(), -1) {}

  void copy(const std::vector<BlockCopy> &copies) {
    for (const BlockCopy &c : copies)
      std::copy(slots.begin() + c.src * bt, slots.begin() + (c.src + 1) * bt,
                slots.begin() + c.dst * bt);
  }
  /// Writes `tokens` at positions `base`... of `seq`'s reserved slots.
  void write(const KvBlockManager &m, int64_t seq, int64_t base,
             const std::vector<int64_t> &tokens) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      auto [block, offset] = m.slot(seq, base + (int64_t)i);
      ASSERT_GE(block, 0) << "no slot for position " << base + (int64_t)i;
      slots[block * bt + offset] = tokens[i];
    }
  }
  int64_t read(int32_t block, int64_t offset) const {
    return slots[block * bt + offset];
  }

  int64_t bt;
  std::vector<int64_t> slots;
};

/// Appends `tokens` to `seq` as the runtime does: reserve, execute the
/// copies, write the k/v, commit.
KvStatus append(KvBlockManager &m, Shadow &shadow, int64_t seq,
                const std::vector<int64_t> &tokens,
                int64_t *copiesMade = nullptr) {
  std::vector<BlockCopy> copies;
  KvStatus st = m.reserve(seq, (int64_t)tokens.size(), copies);
  if (st != KvStatus::Ok)
    return st;
  shadow.copy(copies);
  if (copiesMade)
    *copiesMade += (int64_t)copies.size();
  shadow.write(m, seq, m.length(seq), tokens);
  return m.commit(seq, tokens.data(), (int64_t)tokens.size());
}

/// Every position of every sequence its window still reads holds its own
/// token, and exactly the blocks wholly before the window are recycled.
std::string checkContents(const KvBlockManager &m, const Shadow &shadow,
                          const std::vector<int64_t> &seqs) {
  int64_t bt = m.blockTokens(), window = m.windowTokens();
  for (int64_t seq : seqs) {
    const std::vector<int64_t> &tokens = m.tokens(seq);
    const std::vector<int32_t> &table = m.blockTable(seq);
    int64_t length = m.length(seq);
    if ((int64_t)tokens.size() < length)
      return "sequence " + std::to_string(seq) + " lacks token ids";
    for (int64_t i = 0; i < (int64_t)table.size(); ++i) {
      bool dead = window > 0 && (i + 1) * bt <= length - window;
      if ((table[i] < 0) != dead)
        return "sequence " + std::to_string(seq) + " of length " +
               std::to_string(length) + " has block " + std::to_string(i) +
               (dead ? " still" : " not") + " in its table";
    }
    for (int64_t p = 0; p < length; ++p) {
      int32_t block = table[p / bt];
      if (block < 0)
        continue; // recycled by the window
      if (shadow.read(block, p % bt) != tokens[p])
        return "sequence " + std::to_string(seq) + " position " +
               std::to_string(p) + " reads token " +
               std::to_string(shadow.read(block, p % bt)) + ", wrote " +
               std::to_string(tokens[p]);
    }
  }
  return "";
}

/// Everything observable about the manager and the given sequences.
struct Snapshot {
  Snapshot(const KvBlockManager &m, const std::vector<int64_t> &seqs)
      : numFree(m.numFree()), numEvictable(m.numEvictable()) {
    for (int32_t b = 0; b < m.numBlocks(); ++b)
      refs.push_back(m.refCount(b));
    for (int64_t s : seqs) {
      tables.push_back(m.blockTable(s));
      lengths.push_back(m.length(s));
      tokens.push_back(m.tokens(s));
    }
  }
  bool operator==(const Snapshot &o) const {
    return numFree == o.numFree && numEvictable == o.numEvictable &&
           refs == o.refs && tables == o.tables && lengths == o.lengths &&
           tokens == o.tokens;
  }

  int64_t numFree, numEvictable;
  std::vector<int32_t> refs;
  std::vector<std::vector<int32_t>> tables;
  std::vector<int64_t> lengths;
  std::vector<std::vector<int64_t>> tokens;
};

std::vector<int64_t> range(int64_t from, int64_t n) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = from + i;
  return v;
}

//===----------------------------------------------------------------------===//
// One operation at a time
//===----------------------------------------------------------------------===//

TEST(KvBlockManager, AppendAcrossBlocks) {
  KvBlockManager m(8, 16);
  Shadow shadow(m);
  int64_t s = m.createSequence();
  ASSERT_EQ(append(m, shadow, s, range(0, 20)), KvStatus::Ok);
  EXPECT_EQ(m.length(s), 20);
  EXPECT_EQ(m.blockTable(s).size(), 2u);
  ASSERT_EQ(append(m, shadow, s, range(20, 12)), KvStatus::Ok);
  EXPECT_EQ(m.blockTable(s).size(), 2u);
  ASSERT_EQ(append(m, shadow, s, {99}), KvStatus::Ok);
  EXPECT_EQ(m.blockTable(s).size(), 3u);
  EXPECT_EQ(m.slot(s, 31), std::make_pair(m.blockTable(s)[1], (int64_t)15));
  EXPECT_EQ(m.slot(s, 32), std::make_pair(m.blockTable(s)[2], (int64_t)0));
  EXPECT_EQ(m.slot(s, 48).first, -1); // not reserved
  EXPECT_EQ(m.tokens(s).size(), 33u);
  EXPECT_EQ(m.numUsed(), 3);
  EXPECT_EQ(m.numFree(), 5);
  EXPECT_EQ(m.checkInvariants(), "");
  EXPECT_EQ(checkContents(m, shadow, {s}), "");
}

TEST(KvBlockManager, ForkCopiesASharedPartialBlockBeforeWriting) {
  KvBlockManager m(8, 16);
  Shadow shadow(m);
  int64_t a = m.createSequence();
  ASSERT_EQ(append(m, shadow, a, range(0, 20)), KvStatus::Ok);
  int64_t b = m.fork(a);
  EXPECT_EQ(m.blockTable(a), m.blockTable(b));
  EXPECT_EQ(m.tokens(b), m.tokens(a));
  EXPECT_EQ(m.length(b), 20);
  EXPECT_EQ(m.refCount(m.blockTable(a)[0]), 2);
  EXPECT_EQ(m.refCount(m.blockTable(a)[1]), 2);
  int32_t shared = m.blockTable(a)[1];
  std::vector<BlockCopy> copies;
  ASSERT_EQ(m.reserve(b, 1, copies), KvStatus::Ok);
  ASSERT_EQ(copies.size(), 1u);
  shadow.copy(copies);
  EXPECT_EQ(copies[0].src, shared);
  EXPECT_NE(copies[0].dst, shared);
  EXPECT_EQ(m.blockTable(a)[1], shared); // the original keeps its block
  EXPECT_EQ(m.blockTable(b)[1], copies[0].dst);
  EXPECT_EQ(m.refCount(shared), 1);
  EXPECT_EQ(m.blockTable(a)[0], m.blockTable(b)[0]); // full blocks stay shared
  ASSERT_EQ(m.unreserve(b), KvStatus::Ok);
  EXPECT_EQ(m.checkInvariants(), "");
  ASSERT_EQ(append(m, shadow, b, {500}), KvStatus::Ok);
  // a's block is its own again: no copy.
  copies.clear();
  ASSERT_EQ(m.reserve(a, 1, copies), KvStatus::Ok);
  EXPECT_TRUE(copies.empty());
  shadow.write(m, a, 20, {600});
  ASSERT_EQ(m.commit(a, std::vector<int64_t>{600}.data(), 1), KvStatus::Ok);
  EXPECT_EQ(checkContents(m, shadow, {a, b}), "");
  EXPECT_EQ(m.checkInvariants(), "");
}

TEST(KvBlockManager, PrefixHitsReuseWholeBlocks) {
  KvBlockManager m(16, 16);
  Shadow shadow(m);
  std::vector<int64_t> prompt = range(100, 40);
  int64_t a = m.createSequence();
  EXPECT_EQ(m.matchPrefix(a, prompt.data(), 40), 0);
  ASSERT_EQ(append(m, shadow, a, prompt), KvStatus::Ok);
  int64_t b = m.createSequence();
  EXPECT_EQ(m.matchPrefix(b, prompt.data(), 40), 32);
  EXPECT_EQ(m.length(b), 32);
  EXPECT_EQ(m.tokens(b), range(100, 32));
  EXPECT_EQ(m.blockTable(b)[0], m.blockTable(a)[0]);
  EXPECT_EQ(m.blockTable(b)[1], m.blockTable(a)[1]);
  EXPECT_EQ(m.refCount(m.blockTable(a)[0]), 2);
  ASSERT_EQ(append(m, shadow, b, range(132, 8)), KvStatus::Ok);
  EXPECT_NE(m.blockTable(b)[2], m.blockTable(a)[2]);
  // Not for a sequence that has tokens already.
  EXPECT_EQ(m.matchPrefix(b, prompt.data(), 40), 0);
  EXPECT_EQ(m.length(b), 40);
  // A different prompt: no hit.
  std::vector<int64_t> other = range(7, 40);
  int64_t c = m.createSequence();
  EXPECT_EQ(m.matchPrefix(c, other.data(), 40), 0);
  // A prompt of exactly two blocks keeps its last block to compute.
  int64_t d = m.createSequence();
  EXPECT_EQ(m.matchPrefix(d, prompt.data(), 32), 16);
  EXPECT_EQ(m.checkInvariants(), "");
  // Freed blocks stay cached (evictable, counted free) and are revived by a
  // hit.
  m.freeSequence(a);
  m.freeSequence(b);
  m.freeSequence(d);
  EXPECT_EQ(m.numUsed(), 0);
  EXPECT_EQ(m.numFree(), 16);
  EXPECT_EQ(m.numEvictable(), 2);
  int64_t e = m.createSequence();
  EXPECT_EQ(m.matchPrefix(e, prompt.data(), 40), 32);
  EXPECT_EQ(m.numUsed(), 2);
  EXPECT_EQ(m.numEvictable(), 0);
  EXPECT_EQ(m.checkInvariants(), "");
  EXPECT_EQ(checkContents(m, shadow, {e}), "");
}

TEST(KvBlockManager, EvictableBlocksAreReusedLastOldestFirst) {
  KvBlockManager m(4, 4);
  Shadow shadow(m);
  std::vector<int64_t> first = range(0, 5), second = range(50, 5);
  int64_t a = m.createSequence();
  ASSERT_EQ(append(m, shadow, a, first), KvStatus::Ok); // block 0 cached
  int64_t b = m.createSequence();
  ASSERT_EQ(append(m, shadow, b, second), KvStatus::Ok); // one more cached
  m.freeSequence(a); // released first: evicted first
  m.freeSequence(b);
  EXPECT_EQ(m.numFree(), 4);
  EXPECT_EQ(m.numEvictable(), 2);
  // Two uncached blocks are free: they go out before any cached one.
  int64_t c = m.createSequence();
  ASSERT_EQ(append(m, shadow, c, range(90, 8)), KvStatus::Ok);
  EXPECT_EQ(m.numEvictable(), 2);
  // The next block evicts the least recently released cached one.
  ASSERT_EQ(append(m, shadow, c, {1}), KvStatus::Ok);
  EXPECT_EQ(m.numEvictable(), 1);
  int64_t d = m.createSequence();
  EXPECT_EQ(m.matchPrefix(d, first.data(), 5), 0);
  EXPECT_EQ(m.matchPrefix(d, second.data(), 5), 4);
  EXPECT_EQ(m.checkInvariants(), "");
  EXPECT_EQ(checkContents(m, shadow, {c, d}), "");
}

TEST(KvBlockManager, SlidingWindowRecyclesBlocks) {
  KvBlockManager m(8, 16, /*windowTokens=*/32);
  Shadow shadow(m);
  int64_t s = m.createSequence();
  ASSERT_EQ(append(m, shadow, s, range(0, 80)), KvStatus::Ok);
  // Keys >= 80 - 32 = 48 stay: blocks 0-2 (tokens 0..47) are released.
  std::vector<int32_t> table = m.blockTable(s);
  ASSERT_EQ(table.size(), 5u);
  EXPECT_EQ(table[0], -1);
  EXPECT_EQ(table[1], -1);
  EXPECT_EQ(table[2], -1);
  EXPECT_GE(table[3], 0);
  EXPECT_GE(table[4], 0);
  EXPECT_EQ(m.slot(s, 10).first, -1);
  EXPECT_EQ(m.numUsed(), 2);
  EXPECT_EQ(m.numFree(), 6);
  EXPECT_EQ(m.tokens(s).size(), 80u); // ids stay for the prefix cache
  // Block 3 (keys 48..63) goes when no next query reads key 63: at length
  // 96, not 95.
  ASSERT_EQ(append(m, shadow, s, range(80, 15)), KvStatus::Ok);
  EXPECT_GE(m.blockTable(s)[3], 0);
  ASSERT_EQ(append(m, shadow, s, {95}), KvStatus::Ok);
  EXPECT_EQ(m.blockTable(s)[3], -1);
  EXPECT_EQ(m.numUsed(), 2);
  EXPECT_EQ(m.checkInvariants(), "");
  EXPECT_EQ(checkContents(m, shadow, {s}), "");
}

TEST(KvBlockManager, WindowedPrefixHitTakesOnlyTheWindow) {
  KvBlockManager m(16, 16, /*windowTokens=*/32);
  Shadow shadow(m);
  int64_t a = m.createSequence();
  std::vector<int64_t> prompt = range(0, 100);
  // In chunks, so every block is cached before the window drops it.
  for (int64_t i = 0; i < 100; i += 10)
    ASSERT_EQ(append(m, shadow, a, range(i, 10)), KvStatus::Ok);
  int64_t b = m.createSequence();
  EXPECT_EQ(m.matchPrefix(b, prompt.data(), 100), 96);
  // Keys >= 96 - 32 = 64: blocks 4 and 5 only.
  std::vector<int32_t> table = m.blockTable(b);
  ASSERT_EQ(table.size(), 6u);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(table[i], -1) << i;
  EXPECT_EQ(table[4], m.blockTable(a)[4]);
  EXPECT_EQ(m.refCount(table[5]), 2);
  EXPECT_EQ(m.checkInvariants(), "");
  EXPECT_EQ(checkContents(m, shadow, {a, b}), "");
}

TEST(KvBlockManager, PreemptKeepsTokensForRecomputation) {
  KvBlockManager m(4, 16);
  Shadow shadow(m);
  int64_t s = m.createSequence();
  ASSERT_EQ(append(m, shadow, s, range(0, 40)), KvStatus::Ok);
  ASSERT_EQ(m.preempt(s), KvStatus::Ok);
  EXPECT_TRUE(m.contains(s));
  EXPECT_EQ(m.length(s), 0);
  EXPECT_TRUE(m.blockTable(s).empty());
  EXPECT_EQ(m.tokens(s), range(0, 40));
  EXPECT_EQ(m.numUsed(), 0);
  EXPECT_EQ(m.checkInvariants(), "");
  // The sequence's own kept tokens are a valid prompt argument.
  std::vector<int64_t> kept = m.tokens(s);
  int64_t hit = m.matchPrefix(s, m.tokens(s).data(), (int64_t)kept.size());
  EXPECT_EQ(hit, 32); // its own full blocks, still cached
  EXPECT_EQ(m.tokens(s), range(0, 32));
  ASSERT_EQ(append(m, shadow, s,
                   std::vector<int64_t>(kept.begin() + hit, kept.end())),
            KvStatus::Ok);
  EXPECT_EQ(m.tokens(s), kept);
  EXPECT_EQ(m.length(s), 40);
  EXPECT_EQ(m.checkInvariants(), "");
  EXPECT_EQ(checkContents(m, shadow, {s}), "");
}

TEST(KvBlockManager, PreemptedSequenceRecomputedWithoutPrefixCache) {
  KvBlockManager m(4, 16);
  Shadow shadow(m);
  int64_t s = m.createSequence();
  ASSERT_EQ(append(m, shadow, s, range(0, 20)), KvStatus::Ok);
  ASSERT_EQ(m.preempt(s), KvStatus::Ok);
  // Committing nothing keeps the kept tokens.
  std::vector<BlockCopy> copies;
  ASSERT_EQ(m.reserve(s, 0, copies), KvStatus::Ok);
  ASSERT_EQ(m.commit(s, nullptr, 0), KvStatus::Ok);
  EXPECT_EQ(m.tokens(s), range(0, 20));
  // The first real commit replaces them, even read from tokens(s) itself.
  ASSERT_EQ(m.reserve(s, 20, copies), KvStatus::Ok);
  shadow.write(m, s, 0, range(0, 20));
  ASSERT_EQ(m.commit(s, m.tokens(s).data(), 20), KvStatus::Ok);
  EXPECT_EQ(m.tokens(s), range(0, 20));
  EXPECT_EQ(m.length(s), 20);
  EXPECT_EQ(m.checkInvariants(), "");
  EXPECT_EQ(checkContents(m, shadow, {s}), "");
}

TEST(KvBlockManager, ExhaustionChangesNothing) {
  KvBlockManager m(4, 16);
  Shadow shadow(m);
  int64_t a = m.createSequence();
  ASSERT_EQ(append(m, shadow, a, range(0, 20)), KvStatus::Ok);
  int64_t b = m.fork(a); // 2 blocks free
  Snapshot before(m, {a, b});
  std::vector<BlockCopy> copies;
  // b needs a copy of the shared partial block and two more blocks.
  EXPECT_EQ(m.reserve(b, 13 + 16, copies), KvStatus::PoolExhausted);
  EXPECT_TRUE(copies.empty());
  EXPECT_TRUE(Snapshot(m, {a, b}) == before);
  // Far more than any pool: no overflow, same answer.
  EXPECT_EQ(m.reserve(b, INT64_MAX, copies), KvStatus::PoolExhausted);
  EXPECT_TRUE(Snapshot(m, {a, b}) == before);
  EXPECT_EQ(m.checkInvariants(), "");
  // Exactly what is left fits.
  ASSERT_EQ(m.reserve(b, 13 + 15, copies), KvStatus::Ok);
  EXPECT_EQ(copies.size(), 1u);
  EXPECT_EQ(m.numFree(), 0);
  EXPECT_EQ(m.checkInvariants(), "");
}

TEST(KvBlockManager, BadCallsChangeNothing) {
  KvBlockManager m(4, 16);
  Shadow shadow(m);
  int64_t a = m.createSequence();
  ASSERT_EQ(append(m, shadow, a, range(0, 20)), KvStatus::Ok);
  Snapshot before(m, {a});
  std::vector<BlockCopy> copies;
  const int64_t unknown = 12345;
  int64_t one = 1;
  EXPECT_EQ(m.reserve(unknown, 1, copies), KvStatus::UnknownSequence);
  EXPECT_EQ(m.reserve(a, -1, copies), KvStatus::InvalidArgument);
  EXPECT_EQ(m.commit(a, &one, 1), KvStatus::InvalidArgument); // not reserved
  EXPECT_EQ(m.commit(unknown, &one, 1), KvStatus::UnknownSequence);
  EXPECT_EQ(m.unreserve(unknown), KvStatus::UnknownSequence);
  EXPECT_EQ(m.freeSequence(unknown), KvStatus::UnknownSequence);
  EXPECT_EQ(m.preempt(unknown), KvStatus::UnknownSequence);
  EXPECT_EQ(m.fork(unknown), -1);
  EXPECT_EQ(m.matchPrefix(unknown, &one, 1), 0);
  EXPECT_EQ(m.length(unknown), -1);
  EXPECT_TRUE(m.blockTable(unknown).empty());
  EXPECT_TRUE(m.tokens(unknown).empty());
  EXPECT_EQ(m.slot(unknown, 0).first, -1);
  EXPECT_EQ(m.refCount(-1), -1);
  EXPECT_EQ(m.refCount(4), -1);
  EXPECT_TRUE(copies.empty());
  EXPECT_TRUE(Snapshot(m, {a}) == before);
  EXPECT_EQ(m.checkInvariants(), "");
}

// A fork taken between reserve and commit shares the block the parent is
// filling; once the parent has filled it (so it is cached) and is gone, the
// child holds the block alone and must not write into it: a later prefix
// hit would read the child's tokens. This failed before reserve() took such
// a block out of the prefix cache.
TEST(KvBlockManager, ForkBetweenReserveAndCommitKeepsCachedBlocksIntact) {
  KvBlockManager m(8, 16);
  Shadow shadow(m);
  int64_t a = m.createSequence();
  ASSERT_EQ(append(m, shadow, a, range(0, 20)), KvStatus::Ok);
  std::vector<BlockCopy> copies;
  ASSERT_EQ(m.reserve(a, 12, copies), KvStatus::Ok);
  int64_t c = m.fork(a);
  EXPECT_EQ(m.blockTable(c).size(), 2u); // committed blocks only
  shadow.write(m, a, 20, range(20, 12));
  ASSERT_EQ(m.commit(a, range(20, 12).data(), 12), KvStatus::Ok);
  ASSERT_EQ(m.checkInvariants(), "");
  ASSERT_EQ(m.freeSequence(a), KvStatus::Ok);
  ASSERT_EQ(append(m, shadow, c, {777}), KvStatus::Ok);
  EXPECT_EQ(m.checkInvariants(), "");
  std::vector<int64_t> prompt = range(0, 40);
  int64_t d = m.createSequence();
  EXPECT_EQ(m.matchPrefix(d, prompt.data(), 40), 16);
  EXPECT_EQ(checkContents(m, shadow, {c, d}), "");
  EXPECT_EQ(m.checkInvariants(), "");
}

TEST(KvBlockManager, BudgetArithmetic) {
  // 2 (k, v) * 24 layers * 32 heads * 64 dims * 2 bytes * 16 tokens.
  EXPECT_EQ(KvBlockManager::bytesPerBlock(24, 32, 64, 2, 16), 3145728);
  EXPECT_EQ(
      KvBlockManager::blocksForBudget(3145728 * 10 + 5, 24, 32, 64, 2, 16), 10);
  EXPECT_EQ(
      KvBlockManager::blocksForBudget(3145728 * 10 - 1, 24, 32, 64, 2, 16), 9);
  EXPECT_EQ(KvBlockManager::blocksForBudget(100, 24, 32, 64, 2, 16), 0);
  // 80 GiB of f16, 80 layers, 8 kv heads, head dim 128, 16 tokens: 5 MiB per
  // block.
  EXPECT_EQ(KvBlockManager::blocksForBudget(80LL << 30, 80, 8, 128, 2, 16),
            16384);
  EXPECT_EQ(KvBlockManager::blocksForBudget(-3145728, 24, 32, 64, 2, 16), 0);
  EXPECT_EQ(KvBlockManager::blocksForBudget(1 << 30, 0, 32, 64, 2, 16), 0);
}

//===----------------------------------------------------------------------===//
// Random operations
//===----------------------------------------------------------------------===//

/// Random operations with invariants and contents checked after each.
/// `blocks` is small enough for the pool to run out now and then.
void randomOperations(int64_t blocks, int64_t window, uint64_t seed) {
  const int64_t bt = 8, ops = 100000, vocab = 4;
  KvBlockManager m(blocks, bt, window);
  Shadow shadow(m);
  std::vector<int64_t> live;
  std::mt19937_64 rng(seed);
  auto pick = [&](int64_t n) { return (int64_t)(rng() % (uint64_t)n); };
  auto randomTokens = [&](int64_t n) {
    std::vector<int64_t> t(n);
    for (int64_t &x : t)
      x = pick(vocab);
    return t;
  };
  std::map<std::string, int64_t> done;
  int64_t copies = 0;
  // Prompts start with one of a few templates: prefix hits.
  std::vector<std::vector<int64_t>> templates;
  for (int t = 0; t < 6; ++t)
    templates.push_back(randomTokens(40));
  // Appends to `s`, checking that an exhausted pool changed nothing.
  auto appendChecked = [&](int64_t s, const std::vector<int64_t> &tokens) {
    Snapshot before(m, live);
    KvStatus st = append(m, shadow, s, tokens, &copies);
    if (st == KvStatus::PoolExhausted) {
      done["exhausted"]++;
      EXPECT_TRUE(Snapshot(m, live) == before) << "a failed reserve changed";
      // What a scheduler does: preempt someone to make room.
      if (pick(2) == 0)
        EXPECT_EQ(m.preempt(live[pick((int64_t)live.size())]), KvStatus::Ok);
    } else {
      EXPECT_EQ(st, KvStatus::Ok);
    }
    return st;
  };

  // One random operation; returns early when it has nothing to do.
  auto step = [&]() {
    int64_t op = pick(100);
    // Like a server with a batch limit: no new sequence beyond 12.
    bool adds = op < 10 || (op >= 50 && op < 58) || (op >= 62 && op < 72);
    if (live.size() >= 12 && adds)
      op = 80; // free one instead
    int64_t evictableBefore = m.numEvictable();
    if (live.empty() || op < 10) {
      // A new request: a template prefix, then its own tokens.
      int64_t s = m.createSequence();
      live.push_back(s);
      std::vector<int64_t> prompt = templates[pick(6)];
      prompt.resize(1 + pick(40));
      if (pick(2)) {
        std::vector<int64_t> own = randomTokens(1 + pick(12));
        prompt.insert(prompt.end(), own.begin(), own.end());
      }
      int64_t hit = m.matchPrefix(s, prompt.data(), (int64_t)prompt.size());
      ASSERT_LT(hit, (int64_t)prompt.size());
      ASSERT_EQ(hit % bt, 0);
      done[hit > 0 ? "prefix hit" : "add"]++;
      if (m.numEvictable() < evictableBefore)
        done["revived"]++;
      appendChecked(s,
                    std::vector<int64_t>(prompt.begin() + hit, prompt.end()));
    } else if (op < 50) {
      int64_t s = live[pick((int64_t)live.size())];
      std::vector<int64_t> tokens = randomTokens(1 + pick(12));
      if (m.length(s) == 0) {
        // A preempted sequence comes back: recompute its kept tokens,
        // passing the manager's own copy of them.
        std::vector<int64_t> kept = m.tokens(s);
        int64_t hit =
            m.matchPrefix(s, m.tokens(s).data(), (int64_t)kept.size());
        if (m.numEvictable() < evictableBefore)
          done["revived"]++;
        ASSERT_EQ(m.tokens(s),
                  std::vector<int64_t>(kept.begin(), kept.begin() + hit));
        if (hit > 0)
          done["resume hit"]++;
        tokens.assign(kept.begin() + hit, kept.end());
        if (tokens.empty())
          tokens.push_back(pick(vocab));
        done["resume"]++;
      } else if (pick(8) == 0) {
        tokens = randomTokens(13 + pick(28)); // a long chunk: 13..40
      }
      if (appendChecked(s, tokens) == KvStatus::Ok)
        done["append"]++;
    } else if (op < 58) {
      // A step that reserves, then another sequence forks off before it
      // commits (the child gets the committed tokens only).
      int64_t s = live[pick((int64_t)live.size())];
      if (m.length(s) == 0)
        return;
      std::vector<int64_t> tokens = randomTokens(1 + pick(12));
      std::vector<BlockCopy> made;
      Snapshot before(m, live);
      KvStatus st = m.reserve(s, (int64_t)tokens.size(), made);
      if (st == KvStatus::PoolExhausted) {
        done["exhausted"]++;
        ASSERT_TRUE(Snapshot(m, live) == before);
        return;
      }
      ASSERT_EQ(st, KvStatus::Ok);
      shadow.copy(made);
      copies += (int64_t)made.size();
      int64_t child = m.fork(s);
      ASSERT_GE(child, 0);
      ASSERT_EQ(m.length(child), m.length(s));
      live.push_back(child);
      shadow.write(m, s, m.length(s), tokens);
      ASSERT_EQ(m.commit(s, tokens.data(), (int64_t)tokens.size()),
                KvStatus::Ok);
      done["fork mid-step"]++;
    } else if (op < 62) {
      // A step that failed after writing some of its k/v: unreserve.
      int64_t s = live[pick((int64_t)live.size())];
      if (m.length(s) == 0)
        return;
      std::vector<BlockCopy> made;
      int64_t n = 1 + pick(20);
      if (m.reserve(s, n, made) != KvStatus::Ok)
        return;
      shadow.copy(made);
      copies += (int64_t)made.size();
      shadow.write(m, s, m.length(s), std::vector<int64_t>(n, -7));
      ASSERT_EQ(m.unreserve(s), KvStatus::Ok);
      done["unreserve"]++;
    } else if (op < 72) {
      int64_t s = live[pick((int64_t)live.size())];
      int64_t child = m.fork(s);
      ASSERT_GE(child, 0);
      live.push_back(child);
      done["fork"]++;
    } else if (op < 94) {
      size_t k = pick((int64_t)live.size());
      ASSERT_EQ(m.freeSequence(live[k]), KvStatus::Ok);
      live.erase(live.begin() + k);
      done["free"]++;
    } else {
      ASSERT_EQ(m.preempt(live[pick((int64_t)live.size())]), KvStatus::Ok);
      done["preempt"]++;
    }
  };

  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < ops; ++i) {
    step();
    ASSERT_FALSE(::testing::Test::HasFailure()) << "at operation " << i;
    std::string inv = m.checkInvariants();
    ASSERT_EQ(inv, "") << "after operation " << i;
    std::string contents = checkContents(m, shadow, live);
    ASSERT_EQ(contents, "") << "after operation " << i;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  done["copy-on-write copies"] = copies;
  std::printf("  %lld blocks, window %lld: %lld operations in %.2f s\n",
              (long long)blocks, (long long)window, (long long)ops, seconds);
  for (const auto &[what, n] : done)
    std::printf("    %-22s %lld\n", what.c_str(), (long long)n);
  // Each kind must really have happened, or the test proves nothing.
  for (const char *what :
       {"add", "prefix hit", "revived", "append", "exhausted", "fork",
        "fork mid-step", "unreserve", "free", "preempt", "resume", "resume hit",
        "copy-on-write copies"}) {
    EXPECT_GE(done[what], 300)
        << what << " happened only " << done[what] << " times";
  }
}

TEST(KvBlockManager, RandomOperations) { randomOperations(64, 0, 1); }
// A sequence holds at most 8 blocks of its 48-token window: a smaller pool.
TEST(KvBlockManager, RandomOperationsWithWindow) {
  randomOperations(32, 48, 2);
}

} // namespace
