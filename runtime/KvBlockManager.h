//===- KvBlockManager.h - paged KV cache block bookkeeping ------*- C++ -*-===//
//
// Which block of the pool holds which tokens of which sequence. Storage-
// agnostic: it never touches k/v data; where data must move it returns
// BlockCopy instructions that the storage (KvStorage) executes.
//
// - Sequences own block tables; entry i covers tokens [i*B, (i+1)*B) (B =
//   blockTokens); -1 marks a block the sliding window recycled.
// - Blocks are reference counted: fork() shares every block; a shared block
//   that is only partly filled is copied before its sequence writes into it
//   (reserve() returns the copy).
// - Full blocks are registered in a prefix cache under a chain hash of all
//   tokens up to their end; matchPrefix() lets a new sequence reuse them. A
//   cached block no sequence uses is "evictable": counted free, reused last
//   (least recently released first), revived by a prefix hit.
// - Every failing call leaves the state unchanged.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_RUNTIME_KVBLOCKMANAGER_H
#define TESSEL_RUNTIME_KVBLOCKMANAGER_H

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tessel::rt {

enum class KvStatus { Ok, PoolExhausted, UnknownSequence, InvalidArgument };

/// Copy every element of block `src` into block `dst`.
struct BlockCopy {
  int32_t src;
  int32_t dst;
};

class KvBlockManager {
public:
  /// `windowTokens` > 0: a query at position p sees keys >= p - windowTokens,
  /// so blocks wholly before length - windowTokens are released.
  KvBlockManager(int64_t numBlocks, int64_t blockTokens = 16,
                 int64_t windowTokens = 0);

  static int64_t bytesPerBlock(int64_t layers, int64_t kvHeads,
                               int64_t headDim, int64_t elemBytes,
                               int64_t blockTokens) {
    return 2 * layers * kvHeads * headDim * elemBytes * blockTokens;
  }
  static int64_t blocksForBudget(int64_t bytes, int64_t layers,
                                 int64_t kvHeads, int64_t headDim,
                                 int64_t elemBytes, int64_t blockTokens) {
    int64_t per =
        bytesPerBlock(layers, kvHeads, headDim, elemBytes, blockTokens);
    return per > 0 ? bytes / per : 0;
  }

  int64_t createSequence();
  bool contains(int64_t seq) const { return sequences.count(seq) != 0; }

  /// Makes room to append `n` tokens: copy-on-write of a shared partly
  /// filled last block (appended to `copies`), then new blocks.
  KvStatus reserve(int64_t seq, int64_t n, std::vector<BlockCopy> &copies);
  /// Drops blocks reserved beyond the sequence's length (a step that
  /// failed after reserve).
  KvStatus unreserve(int64_t seq);
  /// The caller wrote the k/v of `n` tokens into the reserved slots.
  KvStatus commit(int64_t seq, const int64_t *tokens, int64_t n);

  /// (block, slot) of token position `pos` of `seq` (reserved or committed).
  std::pair<int32_t, int64_t> slot(int64_t seq, int64_t pos) const;
  const std::vector<int32_t> &blockTable(int64_t seq) const;
  int64_t length(int64_t seq) const;
  const std::vector<int64_t> &tokens(int64_t seq) const;

  /// A new sequence sharing all of `seq`'s blocks; -1 if unknown.
  int64_t fork(int64_t seq);
  KvStatus freeSequence(int64_t seq);
  /// Frees the blocks, keeps the sequence and its tokens; length becomes 0.
  KvStatus preempt(int64_t seq);
  /// For an empty sequence: shares the cached blocks of the prompt's whole
  /// blocks (never the one holding its last token) and returns how many
  /// tokens they cover.
  int64_t matchPrefix(int64_t seq, const int64_t *tokens, int64_t n);

  int64_t numBlocks() const { return (int64_t)refs.size(); }
  int64_t numFree() const {
    return (int64_t)freeList.size() + (int64_t)evictable.size();
  }
  int64_t numUsed() const { return numBlocks() - numFree(); }
  int32_t refCount(int32_t block) const { return refs[block]; }
  int64_t blockTokens() const { return tokensPerBlock; }

  /// "" when every invariant holds, else what is wrong.
  std::string checkInvariants() const;

private:
  struct Sequence {
    std::vector<int32_t> table;
    std::vector<int64_t> tokens;  // committed (kept after preempt)
    std::vector<uint64_t> hashes; // chain hash of each full block
    int64_t length = 0;           // tokens in the cache
    int64_t reserved = 0;         // reserved, not yet committed
  };
  struct CacheEntry {
    int32_t block;
    uint64_t previous;           // chain hash of the block before
    std::vector<int64_t> tokens; // the block's own tokens
  };

  Sequence *find(int64_t seq);
  const Sequence *find(int64_t seq) const;
  /// A block from the free list, else the least recently evictable; -1.
  int32_t allocate();
  void release(int32_t block);
  /// Releases every block of `s` and empties its table (tokens stay).
  void releaseBlocks(Sequence &s);
  uint64_t chainHash(uint64_t previous, const int64_t *tokens) const;
  /// Hashes the sequence's newly full blocks into the prefix cache.
  void registerFullBlocks(Sequence &s);
  void applyWindow(Sequence &s);

  int64_t tokensPerBlock;
  int64_t window;
  int64_t nextSequence = 0;
  std::unordered_map<int64_t, Sequence> sequences;
  std::vector<int32_t> refs;
  std::vector<int32_t> freeList;
  // Cached blocks with no user, least recently released first.
  std::list<int32_t> evictable;
  std::vector<std::list<int32_t>::iterator> evictablePos;
  std::vector<bool> isEvictable;
  // Prefix cache: chain hash -> entry, and each block's hash (if cached).
  std::unordered_map<uint64_t, CacheEntry> prefixCache;
  std::vector<uint64_t> blockHash;
  std::vector<bool> isCached;
};

} // namespace tessel::rt

#endif // TESSEL_RUNTIME_KVBLOCKMANAGER_H
