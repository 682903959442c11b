// KV offload tiers for the prefix cache (README "KV offload tiers"; LMCache's and vLLM's KV
// connectors, Mooncake's KV store, at the level of prefix blocks): prefix blocks evicted from a
// replica's KV cache move down to host memory (per replica), the node's local disk (per node,
// shared by the model's replicas there) and a shared store (cluster-wide), the first tier
// configured; each tier is an LRU (a PrefixCache) and passes its own evictions to the next one.
// At admission, after the KV cache's own prefix hit, the request's following blocks are looked
// up in the tiers (fastest first for each block) and loaded back as far as that beats
// recomputing them.
//
// Where the time goes. Host memory: a block loads at bytes / the GPUs' host-to-device rate over
// their own PCIe links, and the loads of the requests admitted to a step are added to that
// step's time (they run before its compute). The node's disk and the shared store: the blocks
// move as transfers on the shared links (sim/transfers.hpp) — the node's disk link, shared with
// weight loads from the node's disk cache, and the node's network link, shared with weight
// downloads, image pulls and KV moves between pools — capped at the replica's host-to-device
// rate (they land in its GPUs). The request is admitted (it holds its batch slot and blocks)
// but waits in the replica's `loading` list, computing nothing, while the rest of the batch
// runs; when its last load lands it joins the next step with those blocks cached (plus any
// host-memory blocks' copy added to that step). Vidur-style simulators charge none of this;
// LMCache's and vLLM's asynchronous KV connectors behave this way (WAITING_FOR_REMOTE_KVS).
//
// The decision is made at admission and not revisited: a network-tier block costs bytes / the
// rate the load would get if it started now, estimated as min(cap, link bandwidth / (transfers
// on the link + 1)) — the max-min fair share when every transfer on the link is held by that
// link alone (one a cap or another link holds to less leaves more, so the estimate errs slow).
// Loads from the disk and the store run in parallel, so their time is the longer of the two.
//
// Cost: nothing here runs for a model without tiers (one flag test in trim and admission, an
// empty-list test at each step boundary); with them, one hash lookup per tier per block
// evicted or looked up, no allocation once the scratch vectors have grown.
#include <algorithm>
#include <cmath>

#include "sim/simulation.hpp"
#include "sim/simulation_internal.hpp"

namespace fleetsim {

using namespace simulation_internal;

namespace {

// Bytes of one prefix block of `spec`'s KV cache.
double block_bytes(const ModelSpec& spec) { return spec.prefix_block_tokens * spec.kv_bytes_per_token; }

// Blocks a tier of `bytes` holds.
std::size_t tier_blocks(const ModelSpec& spec, double bytes) {
  return static_cast<std::size_t>(std::floor(bytes / block_bytes(spec)));
}

double tier_bytes(const ModelSpec& spec, KvTier tier) {
  switch (tier) {
    case kTierHostMemory: return spec.kv_offload_host_bytes;
    case kTierDisk: return spec.kv_offload_disk_bytes;
    case kTierSharedStore: return spec.kv_offload_store_bytes;
  }
  return 0;
}

constexpr KvTier kTiers[] = {kTierHostMemory, kTierDisk, kTierSharedStore};

}  // namespace

void Simulation::set_up_kv_offload() {
  const Scenario& sc = setup_.scenario;
  offload_disk_.resize(sc.models.size());
  offload_store_.resize(sc.models.size());
  for (std::size_t m = 0; m < sc.models.size(); ++m)
    if (sc.models[m].kv_offload_disk_bytes > 0) offload_disk_[m].resize(cluster_.size());
}

// The tier's cache that `rep` uses (nullptr: the model has no such tier).
PrefixCache* Simulation::offload_tier(Replica& rep, KvTier tier) {
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  if (tier_bytes(spec, tier) <= 0) return nullptr;
  switch (tier) {
    case kTierHostMemory: return &holdings(rep).offload_host;
    case kTierDisk: return &offload_disk_[rep.info.model][rep.info.node];
    case kTierSharedStore: return &offload_store_[rep.info.model];
  }
  return nullptr;
}

// Bytes/s a load from the tier into `rep`'s GPUs gets. Host memory: each GPU copies its shard
// of the KV over its own PCIe link, at the GPU type's host-to-device rate (sim/gpu_catalog.cpp:
// ~80% of the link's theoretical rate, e.g. 50 GB/s for H100 on PCIe Gen5 x16, 25 GB/s Gen4).
double Simulation::offload_tier_bandwidth(const Replica& rep, KvTier tier) const {
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  const NodeView& node = cluster_.node(rep.info.node);
  switch (tier) {
    case kTierHostMemory: return spec.gpus_per_replica * node.gpu_type->host_to_device_bandwidth;
    case kTierDisk: return node.disk_read_bandwidth;
    case kTierSharedStore: return node.network_bandwidth;
  }
  return 0;
}

// The blocks in offload_evicted_ (least recently used first) left `rep`'s KV cache: each enters
// the first tier, which passes what it must evict to the next, and so on; what the last evicts
// is dropped.
void Simulation::offload_evicted(Replica& rep) {
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  KvCounts& counts = kv_counts_[rep.info.model];
  for (KvTier tier : kTiers) {
    if (offload_evicted_.empty()) return;
    PrefixCache* cache = offload_tier(rep, tier);
    if (!cache) continue;
    // One at a time, in eviction order: the last evicted (the most recently used) ends newest.
    for (std::uint64_t hash : offload_evicted_)
      counts.offload[tier].offloaded_blocks += cache->insert(std::span<const std::uint64_t>(&hash, 1));
    offload_passed_.clear();
    cache->shrink_to(tier_blocks(spec, tier_bytes(spec, tier)), &offload_passed_);
    offload_evicted_.swap(offload_passed_);
  }
}

// The link a load from the tier crosses: the node's disk or network link (host memory: none,
// its copy is priced alone).
TransferNetwork::LinkId Simulation::offload_tier_link(const Replica& rep, KvTier tier) const {
  return tier == kTierDisk ? node_disk_link_[rep.info.node] : node_network_link_[rep.info.node];
}

// Bytes/s a load from the disk or the shared store would get if it started now: its link's
// bandwidth shared equally with the transfers on it, at most the replica's host-to-device rate
// (the file's header: an estimate, used for the load-or-recompute decision only).
double Simulation::offload_load_estimate(const Replica& rep, KvTier tier) const {
  const TransferNetwork::LinkId link = offload_tier_link(rep, tier);
  const double share = network_.bandwidth(link) / (network_.transfers_on(link) + 1.0);
  return std::min(share, offload_tier_bandwidth(rep, kTierHostMemory));
}

// At admission: `prefix` is the request's cacheable blocks, the first `gpu_hit` of them found in
// the KV cache. Returns how many of the following blocks are loaded back from the tiers: the
// count k that minimises load(k) + prefill(prompt tokens left after k), the prefill priced by
// the replica's performance model for this request alone (ties: the fewer blocks), where
// load(k) = the host-memory blocks' copy + the longer of the disk's and the store's loads. The
// chosen loads are counted per tier and touched there; the host-memory copy is added to the step
// being formed, and blocks from the disk or the store start moving (start_offload_loads: the
// request waits for them). A decode pool's replica loads from host memory only.
std::size_t Simulation::load_offloaded(Replica& rep, std::uint32_t id, std::span<const std::uint64_t> prefix,
                                       std::size_t gpu_hit) {
  Request& r = requests_[id];
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  const double bytes = block_bytes(spec);
  const std::uint64_t prompt = std::uint64_t{r.input_tokens} + r.generated;
  // Prompt tokens computed with `blocks` prefix blocks cached (at least one is always computed).
  auto computed = [&](std::size_t blocks) {
    const std::uint64_t cached = std::min<std::uint64_t>(blocks * spec.prefix_block_tokens, prompt - 1);
    return static_cast<double>(prompt - cached);
  };
  auto fastest_holder = [&](std::uint64_t hash) -> int {
    for (KvTier tier : kTiers)
      if (rep.takes_kv && tier != kTierHostMemory) break;
      else if (PrefixCache* cache = offload_tier(rep, tier); cache && cache->contains(hash)) return tier;
    return -1;
  };
  // Seconds per block from each tier, as the decision prices them.
  double per_block[3] = {0, 0, 0};
  for (KvTier tier : kTiers)
    per_block[tier] = bytes / (tier == kTierHostMemory ? offload_tier_bandwidth(rep, tier) : offload_load_estimate(rep, tier));
  double load[3] = {0, 0, 0};  // by tier, for the blocks so far
  double best_cost = rep.perf->prefill_seconds(computed(gpu_hit));
  std::size_t found = 0, best = 0;
  for (std::size_t i = gpu_hit; i < prefix.size(); ++i) {
    const int tier = fastest_holder(prefix[i]);
    if (tier < 0) break;
    ++found;
    load[tier] += per_block[tier];
    const double cost = load[kTierHostMemory] + std::max(load[kTierDisk], load[kTierSharedStore]) +
                        rep.perf->prefill_seconds(computed(gpu_hit + found));
    if (cost < best_cost) best_cost = cost, best = found;
  }
  if (found == 0) return 0;
  KvCounts& counts = kv_counts_[rep.info.model];
  counts.offload_declined_tokens +=
      static_cast<std::uint64_t>(computed(gpu_hit + best) - computed(gpu_hit + found));
  double host_seconds = 0, moved[2] = {0, 0};  // bytes from the disk, the store
  for (std::size_t i = gpu_hit; i < gpu_hit + best; ++i) {
    const auto tier = static_cast<KvTier>(fastest_holder(prefix[i]));
    KvCounts::Tier& t = counts.offload[tier];
    t.hit_tokens += static_cast<std::uint64_t>(computed(i) - computed(i + 1));
    ++t.loaded_blocks;
    t.bytes_loaded += bytes;
    if (tier == kTierHostMemory) {
      t.load_seconds += per_block[tier];
      host_seconds += per_block[tier];
    } else {
      moved[tier == kTierDisk ? 0 : 1] += bytes;  // (its seconds are counted when it lands)
    }
    offload_tier(rep, tier)->insert(prefix.subspan(i, 1));  // used now
  }
  if (moved[0] > 0 || moved[1] > 0) {
    start_offload_loads(rep, id, moved);
    offload_loads_.back().host_seconds = host_seconds;
  } else {
    rep.step_load_seconds += host_seconds;
  }
  return best;
}

// The request's blocks from the disk (bytes[0]) and the store (bytes[1]) start moving, each a
// transfer on its link capped at the replica's host-to-device rate; admit_head puts the request
// in the replica's `loading` list.
void Simulation::start_offload_loads(Replica& rep, std::uint32_t id, const double (&bytes)[2]) {
  Request& r = requests_[id];
  offload_loads_.push_back(OffloadLoad{id, {TransferNetwork::kNone, TransferNetwork::kNone}, now_, 0});
  const double cap = offload_tier_bandwidth(rep, kTierHostMemory);
  for (int i = 0; i < 2; ++i) {
    if (bytes[i] <= 0) continue;
    const KvTier tier = i == 0 ? kTierDisk : kTierSharedStore;
    start_transfer(kOffloadOwner + 2 * std::uint64_t{id} + static_cast<std::uint64_t>(i), bytes[i], cap,
                   {offload_tier_link(rep, tier)}, TransferNetwork::kNone);
    offload_loads_.back().transfers[i] = last_transfer_;
    ++extras(r).loads_pending;
  }
}

namespace {
template <class Loads>
auto& load_of(Loads& loads, std::uint32_t id) {
  auto it = std::find_if(loads.begin(), loads.end(), [&](const auto& l) { return l.request == id; });
  return *it;  // (the callers know it is there)
}
}  // namespace

// One of a request's loads landed (`offset`: 2 × request id + 0 for the disk, 1 for the store).
// With the last, the request joins its replica's next step: at once when the replica is idle or
// decoding (the stretch is cut), else at the end of the step under way.
void Simulation::on_offload_load_done(std::uint64_t offset) {
  const auto id = static_cast<std::uint32_t>(offset / 2);
  const int which = static_cast<int>(offset % 2);
  Request& r = requests_[id];
  OffloadLoad& load = load_of(offload_loads_, id);
  load.transfers[which] = TransferNetwork::kNone;
  const std::uint32_t rep_id = r.replica;
  Replica& rep = replicas_[rep_id];
  kv_counts_[rep.info.model].offload[which == 0 ? kTierDisk : kTierSharedStore].load_seconds +=
      to_seconds(now_ - load.started);
  if (--extras(r).loads_pending > 0) return;
  if (rep.step != BatchStepKind::Idle && rep.step != BatchStepKind::Decode) return;  // next_step takes it
  if (rep.step == BatchStepKind::Decode) cut_decode(rep, rep_id);
  rep.step = BatchStepKind::Idle;
  rep.progress_time = now_;
  next_step(rep, rep_id);
  route_load_changed(rep_id);  // (the cut stretch's progress and completions)
}

// At a step boundary (next_step): the requests whose loads have all landed move from `loading`
// to the prefill batch, in admission order, their host-memory copies added to the step. True
// when one did.
bool Simulation::join_loaded(Replica& rep) {
  std::size_t kept = 0;
  bool joined = false;
  for (const std::uint32_t id : rep.loading) {
    if (extras_of(requests_[id]).loads_pending > 0) {
      rep.loading[kept++] = id;
      continue;
    }
    OffloadLoad& load = load_of(offload_loads_, id);
    rep.step_load_seconds += load.host_seconds;
    load = offload_loads_.back();
    offload_loads_.pop_back();
    rep.prefill_batch.push_back(id);
    joined = true;
  }
  rep.loading.resize(kept);
  return joined;
}

// The request leaves its replica's `loading` (its replica failed, or it was preempted while
// there): its loads still under way stop, the bytes not moved are dropped.
void Simulation::cancel_offload_loads(std::uint32_t id) {
  OffloadLoad& load = load_of(offload_loads_, id);
  bool cancelled = false;
  for (TransferNetwork::TransferId t : load.transfers)
    if (t != TransferNetwork::kNone) network_.cancel(now_, t), cancelled = true;
  if (requests_[id].has_extras) extras(requests_[id]).loads_pending = 0;
  load = offload_loads_.back();
  offload_loads_.pop_back();
  if (cancelled) reschedule_transfers();
}

// For the router (RouteCandidate::offload_hit_tokens): how many of prefix's blocks from `from` on
// are held, each in one of the tiers `rep` loads from (a decode pool's replica: host memory
// only), up to the first held in none. Changes nothing.
std::size_t Simulation::offload_match(const Replica& rep, std::span<const std::uint64_t> prefix,
                                      std::size_t from) const {
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  const PrefixCache* disk = spec.kv_offload_disk_bytes > 0 && !rep.takes_kv
                                ? &offload_disk_[rep.info.model][rep.info.node] : nullptr;
  const PrefixCache* store = spec.kv_offload_store_bytes > 0 && !rep.takes_kv ? &offload_store_[rep.info.model] : nullptr;
  const bool host = spec.kv_offload_host_bytes > 0;
  std::size_t n = 0;
  for (std::size_t i = from; i < prefix.size(); ++i, ++n)
    if (!(host && holdings(rep).offload_host.contains(prefix[i])) && !(disk && disk->contains(prefix[i])) &&
        !(store && store->contains(prefix[i])))
      break;
  return n;
}

// A node went back to its pool: its disks come back empty.
void Simulation::clear_node_kv_offload(std::uint32_t node) {
  for (std::vector<PrefixCache>& disks : offload_disk_)
    if (node < disks.size()) disks[node].clear();
}

}  // namespace fleetsim
