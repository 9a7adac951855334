//===- KvBlockManager.cpp - paged KV cache block bookkeeping --------------===//
//
// Reference counts, a free list, an LRU list of evictable cached blocks and
// a chain-hashed prefix cache (see KvBlockManager.h). Calls that can fail
// check everything, then allocate what they need, and only then change the
// state, so a failure or std::bad_alloc leaves it as it was.
//
//===----------------------------------------------------------------------===//

#include "runtime/KvBlockManager.h"

#include <algorithm>
#include <new>
#include <sstream>

using namespace tessel::rt;

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

uint64_t mix(uint64_t h, uint64_t v) {
  // splitmix64 of the running hash and the value.
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

const std::vector<int32_t> kNoTable;
const std::vector<int64_t> kNoTokens;

} // namespace

KvBlockManager::KvBlockManager(int64_t numBlocks, int64_t blockTokens,
                               int64_t windowTokens)
    : tokensPerBlock(std::max<int64_t>(1, blockTokens)),
      window(std::max<int64_t>(0, windowTokens)) {
  // Block ids are int32_t and the LRU sentinel takes one more index.
  numBlocks = std::clamp<int64_t>(numBlocks, 0, INT32_MAX - 1);
  refs.assign(numBlocks, 0);
  lruSentinel = (int32_t)numBlocks;
  lruPrev.assign(numBlocks + 1, lruSentinel);
  lruNext.assign(numBlocks + 1, lruSentinel);
  isEvictable.assign(numBlocks, false);
  blockHash.assign(numBlocks, 0);
  isCached.assign(numBlocks, false);
  freeList.reserve(numBlocks);
  // Lowest ids first out of the free list.
  for (int64_t b = numBlocks; b-- > 0;)
    freeList.push_back((int32_t)b);
}

KvBlockManager::Sequence *KvBlockManager::find(int64_t seq) {
  auto it = sequences.find(seq);
  return it == sequences.end() ? nullptr : &it->second;
}

const KvBlockManager::Sequence *KvBlockManager::find(int64_t seq) const {
  auto it = sequences.find(seq);
  return it == sequences.end() ? nullptr : &it->second;
}

//===----------------------------------------------------------------------===//
// Blocks
//===----------------------------------------------------------------------===//

void KvBlockManager::lruPushBack(int32_t block) {
  int32_t last = lruPrev[lruSentinel];
  lruPrev[block] = last;
  lruNext[block] = lruSentinel;
  lruNext[last] = block;
  lruPrev[lruSentinel] = block;
  isEvictable[block] = true;
  ++evictableCount;
}

void KvBlockManager::lruRemove(int32_t block) {
  lruNext[lruPrev[block]] = lruNext[block];
  lruPrev[lruNext[block]] = lruPrev[block];
  lruPrev[block] = lruNext[block] = lruSentinel;
  isEvictable[block] = false;
  --evictableCount;
}

int32_t KvBlockManager::allocate() {
  int32_t block;
  if (!freeList.empty()) {
    block = freeList.back();
    freeList.pop_back();
  } else {
    // The least recently released cached block leaves the prefix cache.
    block = lruFront();
    lruRemove(block);
    uncache(block);
  }
  refs[block] = 1;
  return block;
}

void KvBlockManager::release(int32_t block) {
  if (--refs[block] > 0)
    return;
  if (isCached[block])
    lruPushBack(block);
  else
    freeList.push_back(block); // never reallocates: capacity numBlocks
}

void KvBlockManager::releaseBlocks(Sequence &s) {
  for (int32_t block : s.table)
    if (block >= 0)
      release(block);
  s.table.clear();
  s.hashes.clear();
  s.length = 0;
  s.reserved = 0;
  s.windowStart = 0;
}

void KvBlockManager::uncache(int32_t block) {
  prefixCache.erase(blockHash[block]);
  isCached[block] = false;
}

//===----------------------------------------------------------------------===//
// Prefix cache and window
//===----------------------------------------------------------------------===//

uint64_t KvBlockManager::chainHash(uint64_t previous,
                                   const int64_t *tokens) const {
  uint64_t h = mix(previous, 0x7e55e1ULL);
  for (int64_t i = 0; i < tokensPerBlock; ++i)
    h = mix(h, (uint64_t)tokens[i]);
  return h;
}

void KvBlockManager::registerFullBlocks(Sequence &s) {
  int64_t full = s.length / tokensPerBlock;
  while ((int64_t)s.hashes.size() < full) {
    int64_t i = (int64_t)s.hashes.size();
    uint64_t previous = i ? s.hashes[i - 1] : 0;
    const int64_t *own = s.tokens.data() + i * tokensPerBlock;
    uint64_t h = chainHash(previous, own);
    s.hashes.push_back(h); // capacity reserved by commit()
    int32_t block = s.table[i];
    // Already cached (shared from a hit or a fork), or the same prefix is
    // cached in another block (two sequences computed it at once).
    if (block < 0 || isCached[block] || prefixCache.count(h))
      continue;
    try {
      CacheEntry entry{block, previous,
                       std::vector<int64_t>(own, own + tokensPerBlock)};
      prefixCache.emplace(h, std::move(entry));
    } catch (const std::bad_alloc &) {
      continue; // caching is an optimization: go on without it
    }
    blockHash[block] = h;
    isCached[block] = true;
  }
}

int64_t KvBlockManager::windowStartFor(int64_t length) const {
  // Block i is dead once its last key, (i+1)*B - 1, is < length - window.
  if (window <= 0 || length <= window)
    return 0;
  return (length - window) / tokensPerBlock;
}

void KvBlockManager::applyWindow(Sequence &s) {
  int64_t end =
      std::min<int64_t>(windowStartFor(s.length), (int64_t)s.table.size());
  for (; s.windowStart < end; ++s.windowStart) {
    int32_t &block = s.table[s.windowStart];
    if (block >= 0)
      release(block);
    block = -1;
  }
}

//===----------------------------------------------------------------------===//
// Sequences
//===----------------------------------------------------------------------===//

int64_t KvBlockManager::createSequence() {
  int64_t id = nextSequence;
  sequences.emplace(id, Sequence());
  ++nextSequence;
  return id;
}

KvStatus KvBlockManager::reserve(int64_t seq, int64_t n,
                                 std::vector<BlockCopy> &copies) {
  Sequence *s = find(seq);
  if (!s)
    return KvStatus::UnknownSequence;
  if (n < 0)
    return KvStatus::InvalidArgument;
  if (n == 0)
    return KvStatus::Ok;
  int64_t next = s->length + s->reserved;
  int64_t have = (int64_t)s->table.size();
  // Slots left in the last block; beyond them, whole new blocks. Compared
  // before computing `need` so that a huge `n` cannot overflow.
  int64_t room = have * tokensPerBlock - next;
  if (n - room > numFree() * tokensPerBlock)
    return KvStatus::PoolExhausted;
  int64_t need = n > room ? ceilDiv(n - room, tokensPerBlock) : 0;
  // The next token goes into the last block if it has room: that block
  // must be this sequence's own and not cached. Shared: copy it. Cached
  // but unshared (a fork taken between reserve and commit left this
  // sequence a block the other one then filled): take it out of the cache.
  int32_t target = room > 0 ? s->table[next / tokensPerBlock] : -1;
  bool copyOnWrite = target >= 0 && refs[target] > 1;
  bool dropFromCache = target >= 0 && !copyOnWrite && isCached[target];
  if (need + (copyOnWrite ? 1 : 0) > numFree())
    return KvStatus::PoolExhausted;
  s->table.reserve(have + need);
  if (copyOnWrite)
    copies.reserve(copies.size() + 1);
  // Nothing below allocates or fails.
  if (copyOnWrite) {
    int32_t own = allocate();
    copies.push_back({target, own});
    release(target); // still used by the other sequences
    s->table[next / tokensPerBlock] = own;
  } else if (dropFromCache) {
    uncache(target);
  }
  for (int64_t i = 0; i < need; ++i)
    s->table.push_back(allocate());
  s->reserved += n;
  return KvStatus::Ok;
}

KvStatus KvBlockManager::unreserve(int64_t seq) {
  Sequence *s = find(seq);
  if (!s)
    return KvStatus::UnknownSequence;
  int64_t keep = ceilDiv(s->length, tokensPerBlock);
  while ((int64_t)s->table.size() > keep) {
    if (s->table.back() >= 0)
      release(s->table.back());
    s->table.pop_back();
  }
  s->reserved = 0;
  return KvStatus::Ok;
}

KvStatus KvBlockManager::commit(int64_t seq, const int64_t *tokens, int64_t n) {
  Sequence *s = find(seq);
  if (!s)
    return KvStatus::UnknownSequence;
  if (n < 0 || n > s->reserved || (n > 0 && !tokens))
    return KvStatus::InvalidArgument;
  if (n == 0)
    return KvStatus::Ok;
  // A preempted sequence starts over: its kept tokens are replaced (and may
  // be what `tokens` points into).
  bool restart = s->length == 0;
  std::vector<int64_t> fresh;
  if (restart)
    fresh.assign(tokens, tokens + n);
  s->hashes.reserve((s->length + n) / tokensPerBlock);
  if (restart) {
    s->hashes.clear();
    s->tokens.swap(fresh);
  } else {
    s->tokens.insert(s->tokens.end(), tokens, tokens + n); // strong guarantee
  }
  s->length += n;
  s->reserved -= n;
  registerFullBlocks(*s);
  applyWindow(*s);
  return KvStatus::Ok;
}

std::pair<int32_t, int64_t> KvBlockManager::slot(int64_t seq,
                                                 int64_t pos) const {
  const Sequence *s = find(seq);
  if (!s || pos < 0 || pos / tokensPerBlock >= (int64_t)s->table.size())
    return {-1, 0};
  return {s->table[pos / tokensPerBlock], pos % tokensPerBlock};
}

const std::vector<int32_t> &KvBlockManager::blockTable(int64_t seq) const {
  const Sequence *s = find(seq);
  return s ? s->table : kNoTable;
}

int64_t KvBlockManager::length(int64_t seq) const {
  const Sequence *s = find(seq);
  return s ? s->length : -1;
}

const std::vector<int64_t> &KvBlockManager::tokens(int64_t seq) const {
  const Sequence *s = find(seq);
  return s ? s->tokens : kNoTokens;
}

int64_t KvBlockManager::fork(int64_t seq) {
  const Sequence *s = find(seq);
  if (!s)
    return -1;
  Sequence child;
  int64_t keep = ceilDiv(s->length, tokensPerBlock);
  child.table.assign(s->table.begin(), s->table.begin() + keep);
  child.tokens = s->tokens;
  child.hashes = s->hashes;
  child.length = s->length;
  child.windowStart = s->windowStart;
  int64_t id = nextSequence;
  Sequence &added = sequences.emplace(id, std::move(child)).first->second;
  ++nextSequence;
  for (int32_t block : added.table)
    if (block >= 0)
      ++refs[block];
  return id;
}

KvStatus KvBlockManager::freeSequence(int64_t seq) {
  auto it = sequences.find(seq);
  if (it == sequences.end())
    return KvStatus::UnknownSequence;
  releaseBlocks(it->second);
  sequences.erase(it);
  return KvStatus::Ok;
}

KvStatus KvBlockManager::preempt(int64_t seq) {
  Sequence *s = find(seq);
  if (!s)
    return KvStatus::UnknownSequence;
  releaseBlocks(*s); // the token ids stay for recomputation
  return KvStatus::Ok;
}

int64_t KvBlockManager::matchPrefix(int64_t seq, const int64_t *tokens,
                                    int64_t n) {
  Sequence *s = find(seq);
  if (!s || s->length != 0 || s->reserved != 0 || !s->table.empty() || n <= 0 ||
      !tokens)
    return 0;
  // Walk first, change nothing: `tokens` may be s->tokens itself.
  std::vector<int32_t> table;
  std::vector<uint64_t> hashes;
  uint64_t previous = 0;
  int64_t matched = 0;
  // Whole blocks only, and never the one holding the last token: at least
  // one token is left for the model to compute logits from.
  while (matched + tokensPerBlock < n) {
    uint64_t h = chainHash(previous, tokens + matched);
    auto it = prefixCache.find(h);
    if (it == prefixCache.end() || it->second.previous != previous ||
        !std::equal(it->second.tokens.begin(), it->second.tokens.end(),
                    tokens + matched))
      break; // a miss, or a hash collision
    table.push_back(it->second.block);
    hashes.push_back(h);
    previous = h;
    matched += tokensPerBlock;
  }
  std::vector<int64_t> kept(tokens, tokens + matched);
  // Blocks the window already dropped are not taken at all.
  int64_t start = windowStartFor(matched);
  for (int64_t i = 0; i < (int64_t)table.size(); ++i) {
    int32_t &block = table[i];
    if (i < start) {
      block = -1;
      continue;
    }
    if (refs[block] == 0) // revive an evictable block
      lruRemove(block);
    ++refs[block];
  }
  s->table = std::move(table);
  s->hashes = std::move(hashes);
  s->tokens = std::move(kept);
  s->length = matched;
  s->windowStart = start;
  return matched;
}

//===----------------------------------------------------------------------===//
// Invariants
//===----------------------------------------------------------------------===//

std::string KvBlockManager::checkInvariants() const {
  std::ostringstream why;
  int64_t total = numBlocks();
  int64_t bt = tokensPerBlock;
  std::vector<int32_t> users(total, 0);
  for (const auto &[id, s] : sequences) {
    if (s.length < 0 || s.reserved < 0) {
      why << "sequence " << id << " has length " << s.length << " and "
          << s.reserved << " reserved";
      return why.str();
    }
    if ((int64_t)s.table.size() != ceilDiv(s.length + s.reserved, bt)) {
      why << "sequence " << id << " has " << s.table.size()
          << " table entries for " << s.length << " tokens (+" << s.reserved
          << " reserved)";
      return why.str();
    }
    if (s.length > 0 && ((int64_t)s.tokens.size() != s.length ||
                         (int64_t)s.hashes.size() != s.length / bt)) {
      why << "sequence " << id << " has " << s.tokens.size()
          << " token ids and " << s.hashes.size() << " block hashes for "
          << s.length << " tokens";
      return why.str();
    }
    if (s.windowStart != windowStartFor(s.length)) {
      why << "sequence " << id << " window starts at block " << s.windowStart
          << ", should at " << windowStartFor(s.length);
      return why.str();
    }
    for (int64_t i = 0; i < (int64_t)s.table.size(); ++i) {
      int32_t block = s.table[i];
      if (i < s.windowStart ? block != -1 : (block < 0 || block >= total)) {
        why << "sequence " << id << " entry " << i << " names block " << block
            << " (window starts at entry " << s.windowStart << ")";
        return why.str();
      }
      if (block < 0)
        continue;
      ++users[block];
      if (!isCached[block])
        continue;
      // A cached block holds the same tokens for everyone using it, and
      // nobody writes into it.
      auto it = prefixCache.find(blockHash[block]);
      if (it == prefixCache.end() || it->second.block != block) {
        why << "block " << block << " is marked cached but has no entry";
        return why.str();
      }
      int64_t covered = std::clamp<int64_t>(s.length - i * bt, 0, bt);
      if (covered > 0 && !std::equal(it->second.tokens.begin(),
                                     it->second.tokens.begin() + covered,
                                     s.tokens.begin() + i * bt)) {
        why << "sequence " << id << " holds different tokens in cached block "
            << block;
        return why.str();
      }
      if (covered == bt && s.hashes[i] != blockHash[block]) {
        why << "sequence " << id << " hashes cached block " << block
            << " differently";
        return why.str();
      }
      if (covered < bt && s.length + s.reserved > i * bt + covered) {
        why << "sequence " << id << " has reserved slots in cached block "
            << block;
        return why.str();
      }
    }
  }

  std::vector<int> onFreeList(total, 0), onLru(total, 0);
  for (int32_t block : freeList) {
    if (block < 0 || block >= total) {
      why << "free list holds block " << block;
      return why.str();
    }
    ++onFreeList[block];
  }
  int64_t lruLength = 0;
  for (int32_t b = lruFront(); b != lruSentinel; b = lruNext[b]) {
    if (b < 0 || b >= total || ++lruLength > total ||
        lruPrev[lruNext[b]] != b) {
      why << "the evictable list is broken at block " << b;
      return why.str();
    }
    ++onLru[b];
  }
  if (lruLength != evictableCount) {
    why << lruLength << " blocks on the evictable list, count says "
        << evictableCount;
    return why.str();
  }
  int64_t used = 0;
  for (int64_t b = 0; b < total; ++b) {
    if (users[b] != refs[b]) {
      why << "block " << b << " has reference count " << refs[b] << " but "
          << users[b] << " table entries";
      return why.str();
    }
    bool freeOk =
        refs[b] > 0   ? onFreeList[b] == 0 && onLru[b] == 0 && !isEvictable[b]
        : isCached[b] ? onFreeList[b] == 0 && onLru[b] == 1 && isEvictable[b]
                      : onFreeList[b] == 1 && onLru[b] == 0 && !isEvictable[b];
    if (!freeOk) {
      why << "block " << b << " (reference count " << refs[b]
          << (isCached[b] ? ", cached" : "") << ") is on the free list "
          << onFreeList[b] << " and the evictable list " << onLru[b]
          << " time(s)";
      return why.str();
    }
    used += refs[b] > 0;
  }
  if (used + numFree() != total) {
    why << used << " used + " << numFree() << " free != " << total;
    return why.str();
  }

  int64_t cached = 0;
  for (int64_t b = 0; b < total; ++b)
    cached += isCached[b];
  if (cached != (int64_t)prefixCache.size()) {
    why << cached << " blocks marked cached, " << prefixCache.size()
        << " cache entries";
    return why.str();
  }
  for (const auto &[h, entry] : prefixCache) {
    if (entry.block < 0 || entry.block >= total || !isCached[entry.block] ||
        blockHash[entry.block] != h || (int64_t)entry.tokens.size() != bt ||
        chainHash(entry.previous, entry.tokens.data()) != h) {
      why << "prefix cache entry of block " << entry.block << " is stale";
      return why.str();
    }
  }
  return "";
}
