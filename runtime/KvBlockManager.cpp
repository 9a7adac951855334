//===- KvBlockManager.cpp - paged KV cache block bookkeeping --------------===//

#include "runtime/KvBlockManager.h"

#include <algorithm>
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
  numBlocks = std::max<int64_t>(0, numBlocks);
  refs.assign(numBlocks, 0);
  evictablePos.resize(numBlocks);
  isEvictable.assign(numBlocks, false);
  blockHash.assign(numBlocks, 0);
  isCached.assign(numBlocks, false);
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

int32_t KvBlockManager::allocate() {
  int32_t block = -1;
  if (!freeList.empty()) {
    block = freeList.back();
    freeList.pop_back();
  } else if (!evictable.empty()) {
    // The least recently released cached block leaves the prefix cache.
    block = evictable.front();
    evictable.pop_front();
    isEvictable[block] = false;
    prefixCache.erase(blockHash[block]);
    isCached[block] = false;
  } else {
    return -1;
  }
  refs[block] = 1;
  return block;
}

void KvBlockManager::release(int32_t block) {
  if (--refs[block] > 0)
    return;
  if (isCached[block]) {
    evictablePos[block] = evictable.insert(evictable.end(), block);
    isEvictable[block] = true;
  } else {
    freeList.push_back(block);
  }
}

uint64_t KvBlockManager::chainHash(uint64_t previous,
                                   const int64_t *tokens) const {
  uint64_t h = mix(previous, 0x7e55e1ULL);
  for (int64_t i = 0; i < tokensPerBlock; ++i)
    h = mix(h, (uint64_t)tokens[i]);
  return h;
}

int64_t KvBlockManager::createSequence() {
  int64_t id = nextSequence++;
  sequences.emplace(id, Sequence());
  return id;
}

KvStatus KvBlockManager::reserve(int64_t seq, int64_t n,
                                 std::vector<BlockCopy> &copies) {
  Sequence *s = find(seq);
  if (!s)
    return KvStatus::UnknownSequence;
  if (n < 0)
    return KvStatus::InvalidArgument;
  int64_t have = (int64_t)s->table.size();
  int64_t need = ceilDiv(s->length + s->reserved + n, tokensPerBlock) - have;
  need = std::max<int64_t>(0, need);
  // The block the next token goes into, if it exists and is shared.
  int64_t next = s->length + s->reserved;
  bool copyOnWrite = false;
  if (n > 0 && next % tokensPerBlock != 0 && next / tokensPerBlock < have) {
    int32_t block = s->table[next / tokensPerBlock];
    copyOnWrite = block >= 0 && refs[block] > 1;
  }
  if (need + (copyOnWrite ? 1 : 0) > numFree())
    return KvStatus::PoolExhausted;
  if (copyOnWrite) {
    int64_t index = next / tokensPerBlock;
    int32_t shared = s->table[index];
    int32_t own = allocate();
    copies.push_back({shared, own});
    release(shared);
    s->table[index] = own;
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

KvStatus KvBlockManager::commit(int64_t seq, const int64_t *tokens,
                                int64_t n) {
  Sequence *s = find(seq);
  if (!s)
    return KvStatus::UnknownSequence;
  if (n < 0 || n > s->reserved || (n > 0 && !tokens))
    return KvStatus::InvalidArgument;
  if (s->length == 0) { // a preempted sequence starts over
    s->tokens.clear();
    s->hashes.clear();
  }
  s->tokens.insert(s->tokens.end(), tokens, tokens + n);
  s->length += n;
  s->reserved -= n;
  registerFullBlocks(*s);
  applyWindow(*s);
  return KvStatus::Ok;
}

void KvBlockManager::registerFullBlocks(Sequence &s) {
  int64_t full = s.length / tokensPerBlock;
  while ((int64_t)s.hashes.size() < full) {
    int64_t i = (int64_t)s.hashes.size();
    uint64_t previous = i ? s.hashes[i - 1] : 0;
    uint64_t h = chainHash(previous, s.tokens.data() + i * tokensPerBlock);
    s.hashes.push_back(h);
    int32_t block = s.table[i];
    if (block < 0 || isCached[block] || prefixCache.count(h))
      continue;
    CacheEntry entry;
    entry.block = block;
    entry.previous = previous;
    entry.tokens.assign(s.tokens.begin() + i * tokensPerBlock,
                        s.tokens.begin() + (i + 1) * tokensPerBlock);
    prefixCache.emplace(h, std::move(entry));
    blockHash[block] = h;
    isCached[block] = true;
  }
}

void KvBlockManager::applyWindow(Sequence &s) {
  if (window <= 0)
    return;
  // Keys before length - window are never read again.
  int64_t firstNeeded = s.length - window;
  for (int64_t i = 0; (i + 1) * tokensPerBlock <= firstNeeded &&
                      i < (int64_t)s.table.size();
       ++i) {
    if (s.table[i] < 0)
      continue;
    release(s.table[i]);
    s.table[i] = -1;
  }
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
  Sequence *s = find(seq);
  if (!s)
    return -1;
  Sequence child;
  int64_t keep = ceilDiv(s->length, tokensPerBlock);
  child.table.assign(s->table.begin(), s->table.begin() + keep);
  for (int32_t block : child.table)
    if (block >= 0)
      ++refs[block];
  child.tokens = s->tokens;
  child.hashes = s->hashes;
  child.length = s->length;
  int64_t id = nextSequence++;
  sequences.emplace(id, std::move(child));
  return id;
}

void KvBlockManager::releaseBlocks(Sequence &s) {
  for (int32_t block : s.table)
    if (block >= 0)
      release(block);
  s.table.clear();
  s.hashes.clear();
  s.length = 0;
  s.reserved = 0;
}

KvStatus KvBlockManager::freeSequence(int64_t seq) {
  Sequence *s = find(seq);
  if (!s)
    return KvStatus::UnknownSequence;
  releaseBlocks(*s);
  sequences.erase(seq);
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
  if (!s || s->length != 0 || !s->table.empty() || n <= 0 || !tokens)
    return 0;
  s->tokens.clear();
  s->hashes.clear();
  s->reserved = 0;
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
      break;
    int32_t block = it->second.block;
    if (refs[block] == 0) { // revive an evictable block
      evictable.erase(evictablePos[block]);
      isEvictable[block] = false;
    }
    ++refs[block];
    s->table.push_back(block);
    s->hashes.push_back(h);
    previous = h;
    matched += tokensPerBlock;
  }
  s->tokens.assign(tokens, tokens + matched);
  s->length = matched;
  applyWindow(*s);
  return matched;
}

std::string KvBlockManager::checkInvariants() const {
  std::ostringstream why;
  int64_t total = numBlocks();
  std::vector<int32_t> users(total, 0);
  for (const auto &[id, s] : sequences) {
    int64_t expected = ceilDiv(s.length + s.reserved, tokensPerBlock);
    if ((int64_t)s.table.size() != expected) {
      why << "sequence " << id << " has " << s.table.size()
          << " table entries for " << s.length << " tokens (+" << s.reserved
          << " reserved)";
      return why.str();
    }
    if (s.length > 0 && (int64_t)s.tokens.size() != s.length) {
      why << "sequence " << id << " has " << s.tokens.size()
          << " token ids for length " << s.length;
      return why.str();
    }
    for (size_t i = 0; i < s.table.size(); ++i) {
      int32_t block = s.table[i];
      if (block < -1 || block >= total) {
        why << "sequence " << id << " names block " << block;
        return why.str();
      }
      if (block == -1) {
        if (window <= 0 ||
            (int64_t)(i + 1) * tokensPerBlock > s.length - window) {
          why << "sequence " << id << " lost block " << i
              << " that its window still reads";
          return why.str();
        }
        continue;
      }
      ++users[block];
    }
  }
  std::vector<int> freeCount(total, 0);
  for (int32_t block : freeList)
    ++freeCount[block];
  for (int32_t block : evictable)
    ++freeCount[block];
  int64_t used = 0;
  for (int64_t b = 0; b < total; ++b) {
    if (users[b] != refs[b]) {
      why << "block " << b << " has reference count " << refs[b] << " but "
          << users[b] << " table entries";
      return why.str();
    }
    if (freeCount[b] > 1 || (freeCount[b] == 1 && refs[b] != 0) ||
        (freeCount[b] == 0 && refs[b] == 0)) {
      why << "block " << b << " is listed free " << freeCount[b]
          << " time(s) with reference count " << refs[b];
      return why.str();
    }
    if (isEvictable[b] != (refs[b] == 0 && isCached[b])) {
      why << "block " << b << " evictable flag is wrong";
      return why.str();
    }
    used += refs[b] > 0;
  }
  if (used + numFree() != total) {
    why << used << " used + " << numFree() << " free != " << total;
    return why.str();
  }
  for (const auto &[h, entry] : prefixCache) {
    if (!isCached[entry.block] || blockHash[entry.block] != h ||
        (int64_t)entry.tokens.size() != tokensPerBlock ||
        chainHash(entry.previous, entry.tokens.data()) != h) {
      why << "prefix cache entry of block " << entry.block << " is stale";
      return why.str();
    }
  }
  int64_t cached = 0;
  for (int64_t b = 0; b < total; ++b)
    cached += isCached[b];
  if (cached != (int64_t)prefixCache.size()) {
    why << cached << " blocks marked cached, " << prefixCache.size()
        << " cache entries";
    return why.str();
  }
  return "";
}
