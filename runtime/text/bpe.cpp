#include "runtime/text/bpe.h"

#include <queue>

namespace qwen3c {

BpeModel::BpeModel(std::vector<std::int32_t> byte_tokens, const std::vector<Merge>& merges)
    : byte_tokens_(std::move(byte_tokens)) {
  rules_.reserve(merges.size());
  for (std::size_t r = 0; r < merges.size(); ++r) {
    // The first occurrence of a pair wins, as in Hugging Face's loader.
    rules_.emplace(key(merges[r].left, merges[r].right), Rule{static_cast<std::int32_t>(r), merges[r].result});
  }
}

void BpeModel::encode_word(std::string_view word, std::vector<std::int64_t>& out) const {
  const auto n = static_cast<std::int32_t>(word.size());
  if (n == 0) return;
  // A doubly linked list of symbols; merged-away symbols get id -1.
  std::vector<std::int32_t> id(n), prev(n), next(n);
  for (std::int32_t i = 0; i < n; ++i) {
    id[i] = byte_tokens_[static_cast<std::uint8_t>(word[i])];
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    std::int32_t rank, pos, left, right;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push = [&](std::int32_t pos) {
    const std::int32_t nx = next[pos];
    if (pos < 0 || nx < 0) return;
    auto it = rules_.find(key(id[pos], id[nx]));
    if (it != rules_.end()) queue.push({it->second.rank, pos, id[pos], id[nx]});
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    const std::int32_t nx = next[c.pos];
    // Stale entries: one side has been merged since the candidate was queued.
    if (id[c.pos] != c.left || nx < 0 || id[nx] != c.right) continue;
    id[c.pos] = rules_.at(key(c.left, c.right)).result;
    id[nx] = -1;
    next[c.pos] = next[nx];
    if (next[nx] >= 0) prev[next[nx]] = c.pos;
    if (prev[c.pos] >= 0) push(prev[c.pos]);
    push(c.pos);
  }
  for (std::int32_t i = 0; i >= 0; i = next[i]) out.push_back(id[i]);
}

}  // namespace qwen3c
