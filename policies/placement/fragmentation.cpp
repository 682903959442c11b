#include "policies/placement/fragmentation.hpp"

#include <algorithm>
#include <limits>

namespace fleetsim {

namespace {
constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

bool cpu_fits(const NodeResources& node, double cpu) {
  return node.cpu_capacity <= 0 || node.cpu_used + cpu <= node.cpu_capacity + 1e-9;
}
bool memory_fits(const NodeResources& node, double bytes) {
  return node.host_memory_capacity <= 0 || node.host_memory_used + bytes <= node.host_memory_capacity;
}
bool type_allowed(const NodeResources& node, const std::vector<std::string>& types) {
  if (types.empty()) return true;
  if (!node.gpu_type) return false;
  return std::find(types.begin(), types.end(), node.gpu_type->name) != types.end();
}
std::int64_t total_free(std::span<const int> free_milli) {
  std::int64_t s = 0;
  for (int f : free_milli) s += f;
  return s;
}
}  // namespace

PodSize pod_size(const PlacementRequest& request) {
  PodSize size;
  size.gpus = request.milli_gpu > 0 ? 0 : request.gpus;
  size.milli_gpu = request.milli_gpu;
  size.cpu = request.cpu;
  size.host_memory = request.host_memory;
  for (std::uint32_t t : request.gpu_types)
    size.gpu_types.push_back(t < request.catalog.size() ? request.catalog[t].name : "#" + std::to_string(t));
  std::sort(size.gpu_types.begin(), size.gpu_types.end());
  size.gpu_types.erase(std::unique(size.gpu_types.begin(), size.gpu_types.end()), size.gpu_types.end());
  return size;
}

NodeResources node_resources(const NodeView& node, std::vector<int>& free_milli) {
  free_milli.resize(node.gpus.size());
  for (std::size_t g = 0; g < node.gpus.size(); ++g)
    free_milli[g] = 1000 - static_cast<int>(std::min<std::uint32_t>(node.gpus[g].milli_used, 1000));
  NodeResources r;
  r.gpu_type = node.gpu_type;
  r.cpu_capacity = node.cpu_capacity;
  r.cpu_used = node.cpu_used;
  r.host_memory_capacity = node.host_memory_capacity;
  r.host_memory_used = node.host_memory_used;
  r.free_milli = free_milli;
  return r;
}

bool size_eligible(const NodeResources& node, const PodSize& size) {
  return type_allowed(node, size.gpu_types) && cpu_fits(node, size.cpu) && memory_fits(node, size.host_memory);
}

std::int64_t gpu_fragmentation(const NodeResources& node, const PodSize& size) {
  const std::int64_t all = total_free(node.free_milli);
  const int k = size.gpu_count();
  const int d = size.per_gpu_milli();
  if (k == 0 || !size_eligible(node, size)) return all;
  int usable = 0;
  std::int64_t unusable = 0;
  for (int f : node.free_milli) {
    if (f >= d)
      ++usable;
    else
      unusable += f;
  }
  return usable >= k ? unusable : all;
}

std::int64_t gpu_fragmentation(const NodeView& node, const PodSize& size) {
  if (!node.up) return 0;
  std::vector<int> free_milli;
  return gpu_fragmentation(node_resources(node, free_milli), size);
}

void FragmentationModel::add(const PodSize& size, std::uint64_t count) {
  if (count == 0) return;
  total_ += count;
  auto it = std::find(sizes_.begin(), sizes_.end(), size);
  std::size_t i = static_cast<std::size_t>(it - sizes_.begin());
  if (it == sizes_.end()) {
    sizes_.push_back(size);
    counts_.push_back(0);
    size_shape_.push_back(kNone);
    size_member_.push_back(kNone);
    const int k = size.gpu_count();
    const int d = size.per_gpu_milli();
    if (k > 0) {
      std::size_t s = 0;
      while (s < shapes_.size() && !(shapes_[s].gpus == k && shapes_[s].demand == d)) ++s;
      if (s == shapes_.size()) shapes_.push_back(Shape{k, d, {}});
      Member m;
      m.cpu = size.cpu;
      m.host_memory = size.host_memory;
      m.size = i;
      m.typed = !size.gpu_types.empty();
      size_shape_[i] = s;
      size_member_[i] = shapes_[s].members.size();
      shapes_[s].members.push_back(m);
    }
  }
  counts_[i] += count;
  if (size_shape_[i] != kNone) shapes_[size_shape_[i]].members[size_member_[i]].count += count;
}

bool FragmentationModel::member_eligible(const NodeResources& node, const Member& m) const {
  if (!cpu_fits(node, m.cpu) || !memory_fits(node, m.host_memory)) return false;
  return !m.typed || type_allowed(node, sizes_[m.size].gpu_types);
}

std::int64_t FragmentationModel::weighted(const NodeResources& node) const {
  const std::int64_t all = total_free(node.free_milli);
  std::int64_t result = static_cast<std::int64_t>(total_) * all;
  if (all == 0) return 0;
  for (const Shape& shape : shapes_) {
    int usable = 0;
    std::int64_t usable_milli = 0;
    for (int f : node.free_milli)
      if (f >= shape.demand) {
        ++usable;
        usable_milli += f;
      }
    if (usable < shape.gpus || usable_milli == 0) continue;
    std::int64_t eligible = 0;
    for (const Member& m : shape.members)
      if (member_eligible(node, m)) eligible += static_cast<std::int64_t>(m.count);
    result -= eligible * usable_milli;
  }
  return result;
}

double FragmentationModel::expected(const NodeView& node) const {
  if (!node.up || total_ == 0) return 0;
  std::vector<int> free_milli;
  return static_cast<double>(weighted(node_resources(node, free_milli))) / static_cast<double>(total_);
}

double FragmentationModel::cluster(std::span<const NodeView> nodes) const {
  if (total_ == 0) return 0;
  std::vector<int> free_milli;
  std::int64_t sum = 0;
  for (const NodeView& node : nodes)
    if (node.up) sum += weighted(node_resources(node, free_milli));
  return static_cast<double>(sum) / static_cast<double>(total_);
}

std::vector<int> tightest_gpus(const NodeView& node, const PlacementRequest& request) {
  if (request.milli_gpu <= 0) return lowest_free_gpus(node, request);
  int best = -1;
  for (std::size_t g = 0; g < node.gpus.size(); ++g) {
    if (!gpu_fits(node, node.gpus[g], request)) continue;
    if (best < 0 || node.gpus[g].milli_used > node.gpus[static_cast<std::size_t>(best)].milli_used)
      best = static_cast<int>(g);
  }
  if (best < 0) return {};
  return {best};
}

std::int64_t free_gpu_milli(const NodeView& node) {
  std::int64_t s = 0;
  for (const GpuSlot& slot : node.gpus) s += 1000 - std::min<std::uint32_t>(slot.milli_used, 1000);
  return s;
}

}  // namespace fleetsim
