//===- KvBlockManager.h - paged KV cache block bookkeeping ------*- C++ -*-===//
//
// Which block of the pool holds which tokens of which sequence. Storage-
// agnostic: it never touches k/v data; where data must move it returns
// BlockCopy instructions that the storage (KvStorage) executes.
//
// - Sequences own block tables; entry i covers tokens [i*B, (i+1)*B) (B =
//   blockTokens); -1 marks a block the sliding window recycled.
// - Blocks are reference counted: fork() shares every block. A sequence
//   never writes into a block in the prefix cache nor into slots another
//   sequence reads: reserve() copies a shared partly filled block first and
//   returns the copy. (A fork taken between reserve and commit shares the
//   block being filled, but the child never reads the reserved slots.)
// - Full blocks are registered in a prefix cache under a chain hash of all
//   tokens up to their end; matchPrefix() lets a new sequence reuse them. A
//   cached block no sequence uses is "evictable": counted free, reused only
//   when no uncached block is free (least recently released first), revived
//   by a prefix hit.
// - Every call that fails leaves the state unchanged; no call allocates
//   memory after it started changing the state, except that a full block
//   that cannot be entered in the prefix cache for lack of memory is simply
//   not cached.
//
// Not thread-safe: the caller serializes calls on one manager.
//
//===----------------------------------------------------------------------===//

#ifndef TESSEL_RUNTIME_KVBLOCKMANAGER_H
#define TESSEL_RUNTIME_KVBLOCKMANAGER_H

#include <cstdint>
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
  /// `numBlocks` blocks of `blockTokens` tokens each (values < 1 read as 0
  /// blocks / 1 token). `windowTokens` > 0: a query at position p sees keys
  /// >= p - windowTokens, so blocks wholly before length - windowTokens are
  /// released; 0: no sliding window.
  KvBlockManager(int64_t numBlocks, int64_t blockTokens = 16,
                 int64_t windowTokens = 0);

  /// Bytes of one block: k and v of every layer.
  static int64_t bytesPerBlock(int64_t layers, int64_t kvHeads, int64_t headDim,
                               int64_t elemBytes, int64_t blockTokens) {
    return 2 * layers * kvHeads * headDim * elemBytes * blockTokens;
  }
  /// How many blocks fit in `bytes` (0 if any argument is not positive).
  static int64_t blocksForBudget(int64_t bytes, int64_t layers, int64_t kvHeads,
                                 int64_t headDim, int64_t elemBytes,
                                 int64_t blockTokens) {
    int64_t per =
        bytesPerBlock(layers, kvHeads, headDim, elemBytes, blockTokens);
    return per > 0 && bytes > 0 ? bytes / per : 0;
  }

  /// A new empty sequence.
  int64_t createSequence();
  bool contains(int64_t seq) const { return sequences.count(seq) != 0; }

  /// Makes room to append `n` tokens after those already reserved: copy-on-
  /// write of a shared partly filled block the new tokens go into (appended
  /// to `copies`), then new blocks. The caller executes `copies` in order
  /// before writing into the reserved slots. PoolExhausted when the pool
  /// cannot supply the blocks.
  KvStatus reserve(int64_t seq, int64_t n, std::vector<BlockCopy> &copies);
  /// Drops blocks reserved beyond the sequence's length (a step that
  /// failed after reserve). Copies reserve() returned must still be
  /// executed: they replaced shared blocks.
  KvStatus unreserve(int64_t seq);
  /// The caller wrote the k/v of the next `n` reserved tokens: appends their
  /// ids, caches blocks that became full, applies the sliding window.
  KvStatus commit(int64_t seq, const int64_t *tokens, int64_t n);

  /// (block, offset in block) of token position `pos` of `seq` (reserved or
  /// committed); block -1 if recycled, unknown or out of range.
  std::pair<int32_t, int64_t> slot(int64_t seq, int64_t pos) const;
  /// Empty for an unknown sequence.
  const std::vector<int32_t> &blockTable(int64_t seq) const;
  /// Committed tokens in the cache; -1 for an unknown sequence.
  int64_t length(int64_t seq) const;
  /// Committed token ids (after preempt(): the ones it had); empty for an
  /// unknown sequence.
  const std::vector<int64_t> &tokens(int64_t seq) const;

  /// A new sequence sharing all of `seq`'s committed blocks (not its
  /// reservation), with its length and tokens; -1 if unknown.
  int64_t fork(int64_t seq);
  KvStatus freeSequence(int64_t seq);
  /// Frees the blocks, keeps the sequence and its tokens; length becomes 0.
  /// The first commit() or matchPrefix() afterwards replaces the tokens.
  KvStatus preempt(int64_t seq);
  /// For an empty sequence (no blocks): shares the cached blocks of the
  /// prompt's whole blocks (never the one holding its last token, so the
  /// result is < n), sets length and tokens to them (a preempted sequence's
  /// kept tokens go, even with no hit) and returns how many tokens they
  /// cover; 0 and no change if `seq` is unknown or not empty, or n <= 0.
  /// `tokens` may be the sequence's own tokens(seq).data().
  int64_t matchPrefix(int64_t seq, const int64_t *tokens, int64_t n);

  int64_t numBlocks() const { return (int64_t)refs.size(); }
  /// Free blocks, evictable ones included.
  int64_t numFree() const { return (int64_t)freeList.size() + evictableCount; }
  int64_t numUsed() const { return numBlocks() - numFree(); }
  int64_t numEvictable() const { return evictableCount; }
  /// Table entries naming `block`; -1 if there is no such block.
  int32_t refCount(int32_t block) const {
    return block >= 0 && block < (int32_t)refs.size() ? refs[block] : -1;
  }
  int64_t blockTokens() const { return tokensPerBlock; }
  int64_t windowTokens() const { return window; }

  /// "" when every invariant holds, else what is wrong: reference counts
  /// equal table entries, a block is exactly one of used / free /
  /// evictable, tables match lengths, -1 only outside the window, cache
  /// entries agree with their blocks and with every sequence using them,
  /// and no sequence has reserved slots in a cached block.
  std::string checkInvariants() const;

private:
  struct Sequence {
    std::vector<int32_t> table;
    std::vector<int64_t> tokens;  // committed (kept after preempt)
    std::vector<uint64_t> hashes; // chain hash of each full block
    int64_t length = 0;           // tokens in the cache
    int64_t reserved = 0;         // reserved, not yet committed
    int64_t windowStart = 0;      // table entries before it are -1
  };
  struct CacheEntry {
    int32_t block;
    uint64_t previous;           // chain hash of the block before
    std::vector<int64_t> tokens; // the block's own tokens
  };

  Sequence *find(int64_t seq);
  const Sequence *find(int64_t seq) const;
  /// A block from the free list, else the least recently released evictable
  /// one (leaving the prefix cache); the caller checked numFree() > 0.
  int32_t allocate();
  /// One table entry fewer names `block`.
  void release(int32_t block);
  /// Releases every block of `s` and empties its table (tokens stay).
  void releaseBlocks(Sequence &s);
  /// Removes `block`'s prefix cache entry (it is about to be written).
  void uncache(int32_t block);
  uint64_t chainHash(uint64_t previous, const int64_t *tokens) const;
  /// Hashes the sequence's newly full blocks into the prefix cache.
  void registerFullBlocks(Sequence &s);
  void applyWindow(Sequence &s);
  /// Index of the first table entry the window keeps for `length` tokens.
  int64_t windowStartFor(int64_t length) const;

  // Evictable blocks: a doubly linked list threaded through lruPrev /
  // lruNext (index numBlocks is the sentinel), least recently released
  // first. No allocation, O(1) insert / remove.
  void lruPushBack(int32_t block);
  void lruRemove(int32_t block);
  int32_t lruFront() const { return lruNext[lruSentinel]; }

  int64_t tokensPerBlock;
  int64_t window;
  int64_t nextSequence = 0;
  std::unordered_map<int64_t, Sequence> sequences;
  std::vector<int32_t> refs;
  std::vector<int32_t> freeList; // capacity numBlocks: push never allocates
  std::vector<int32_t> lruPrev, lruNext;
  int32_t lruSentinel;
  int64_t evictableCount = 0;
  std::vector<bool> isEvictable;
  // Prefix cache: chain hash -> entry, and each block's hash (if cached).
  std::unordered_map<uint64_t, CacheEntry> prefixCache;
  std::vector<uint64_t> blockHash;
  std::vector<bool> isCached;
};

} // namespace tessel::rt

#endif // TESSEL_RUNTIME_KVBLOCKMANAGER_H
