#include "policies/api/free_gpu_index.hpp"

#include <algorithm>

namespace fleetsim {

namespace {
void size_bucket(FreeGpuIndex::Bucket& b, std::size_t positions) {
  const std::size_t words = (positions + 63) / 64;
  b.words.resize(words, 0);
  b.summary.resize((words + 63) / 64, 0);
}
}  // namespace

void FreeGpuIndex::add_node(std::uint32_t id, std::uint32_t pool, std::uint32_t gpu_type, int gpus) {
  if (node_group_.size() <= id) {
    node_group_.resize(id + 1, kNotIndexed);
    node_pos_.resize(id + 1, 0);
    node_bucket_.resize(id + 1, kNotIndexed);
  }
  std::size_t g = 0;
  while (g < groups_.size() && !(groups_[g].pool == pool && groups_[g].gpu_type == gpu_type)) ++g;
  if (g == groups_.size()) {
    groups_.push_back(Group{});
    groups_.back().pool = pool;
    groups_.back().gpu_type = gpu_type;
    groups_.back().first_node = id;
  }
  Group& group = groups_[g];
  node_group_[id] = static_cast<std::uint32_t>(g);
  node_pos_[id] = static_cast<std::uint32_t>(group.nodes.size());
  node_bucket_[id] = kNotIndexed;
  group.nodes.push_back(id);
  const std::size_t buckets = static_cast<std::size_t>(std::max(gpus, 0)) + 1;
  if (group.buckets.size() < buckets) group.buckets.resize(buckets);
  for (Bucket& b : group.buckets) size_bucket(b, group.nodes.size());
  max_free_ = std::max(max_free_, static_cast<int>(group.buckets.size()) - 1);
}

void FreeGpuIndex::move(std::uint32_t id, std::uint32_t want) {
  std::uint32_t& have = node_bucket_[id];
  Group& group = groups_[node_group_[id]];
  const std::size_t pos = node_pos_[id];
  const std::size_t w = pos / 64;
  const std::uint64_t bit = 1ULL << (pos % 64);
  if (have != kNotIndexed) {
    Bucket& b = group.buckets[have];
    b.words[w] &= ~bit;
    if (b.words[w] == 0) b.summary[w / 64] &= ~(1ULL << (w % 64));
    --b.count;
  }
  if (want != kNotIndexed) {
    if (want >= group.buckets.size()) {  // more free than the node was added with: grow
      group.buckets.resize(want + 1);
      for (Bucket& b : group.buckets) size_bucket(b, group.nodes.size());
      max_free_ = std::max(max_free_, static_cast<int>(want));
    }
    Bucket& b = group.buckets[want];
    b.words[w] |= bit;
    b.summary[w / 64] |= 1ULL << (w % 64);
    ++b.count;
  }
  have = want;
}

}  // namespace fleetsim
