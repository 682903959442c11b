#include "scenarios/loader/llm_readers.hpp"

#include <cstdint>
#include <memory>

#include "scenarios/loader/shared_readers.hpp"
#include "sim/perf_table.hpp"

namespace fleetsim {

// A model's `kv_offload:` tiers (README "KV offload tiers"): sizes, 0 = no such tier; a tier
// that cannot hold one prefix block, or tiers without prefix caching, are errors.
void read_kv_offload(YamlContext& ctx, MapReader& m, ModelSpec& spec) {
  MapReader o(ctx, m.get("kv_offload"), m.path("kv_offload"));
  if (!o.ok()) return;
  const double block = spec.prefix_block_tokens * spec.kv_bytes_per_token;
  auto tier = [&](const std::string& key) {
    const double bytes = o.size(key, 0, false);
    if (bytes > 0 && block > 0 && bytes < block)
      ctx.error(o.get(key), o.path(key),
                "holds no prefix block: one block is " + std::to_string(spec.prefix_block_tokens) +
                    " tokens x kv_cache_per_token = " + std::to_string(static_cast<std::uint64_t>(block)) +
                    " bytes (got " + std::to_string(static_cast<std::uint64_t>(bytes)) + ")");
    return bytes;
  };
  spec.kv_offload_host_bytes = tier("host_memory");
  spec.kv_offload_disk_bytes = tier("disk");
  spec.kv_offload_store_bytes = tier("shared_store");
  o.finish();
  if (spec.kv_offload() && !spec.prefix_caching)
    ctx.error(m.get("kv_offload"), m.path("kv_offload"),
              "offload tiers hold evicted prefix blocks: they need prefix_caching: true");
}

// A generated workload's `prefixes` (traces/prefix_workload.hpp): which shared prompt parts
// its requests' prefix hashes describe.
PrefixWorkloadSpec read_prefixes(YamlContext& ctx, const YAML::Node& node, const std::string& path) {
  PrefixWorkloadSpec p;
  MapReader r(ctx, node, path);
  if (!r.ok()) return p;
  if (!r.has("system_prompts") && !r.has("conversations") && !r.has("prompts"))
    ctx.error(node, path, "names none of system_prompts, conversations, prompts");
  if (r.has("system_prompts")) {
    MapReader t(ctx, r.get("system_prompts"), r.path("system_prompts"));
    if (t.ok()) {
      p.tenants = static_cast<std::uint32_t>(t.integer("tenants", 0, 1, 1000000, true));
      p.tenant_zipf = t.number("zipf", 1.0, 0, 100);
      p.system_prompt_tokens = read_distribution(ctx, t.get("tokens"), t.path("tokens"), false);
      t.finish();
    }
  }
  if (r.has("conversations")) {
    MapReader c(ctx, r.get("conversations"), r.path("conversations"));
    if (c.ok()) {
      p.conversations = true;
      p.turns = read_distribution(ctx, c.get("turns"), c.path("turns"), false);
      p.think_time = read_distribution(ctx, c.get("think_time"), c.path("think_time"), true);
      c.finish();
    }
  }
  if (r.has("prompts")) {
    MapReader k(ctx, r.get("prompts"), r.path("prompts"));
    if (k.ok()) {
      p.prompts = static_cast<std::uint32_t>(k.integer("count", 0, 1, 1000000, true));
      p.prompt_zipf = k.number("zipf", 1.0, 0, 100);
      k.finish();
    }
    if (r.has("system_prompts") || r.has("conversations"))
      ctx.error(r.get("prompts"), r.path("prompts"),
                "a set of whole prompts cannot be combined with system_prompts or conversations "
                "(each distinct prompt is already shared whole)");
  }
  for (const char* key : {"system_prompts", "conversations", "prompts"}) (void)r.get(key);
  r.finish();
  return p;
}

// A pool of a disaggregated model whose tensor-parallel degree differs from the model's: its
// measured tables are the profile's rows at its own degree.
void reselect_performance_tables(YamlContext& ctx, ModelSpec& pool, const std::string& path) {
  if (pool.perf_table_file.empty()) return;
  const auto rows = PerfTable::read_rows(pool.perf_table_file, path, ctx.errors);
  if (!rows) return;
  for (std::size_t gpu = 0; gpu < pool.perf_table_hardware.size(); ++gpu) {
    if (pool.perf_table_hardware[gpu].empty()) continue;
    auto table = PerfTable::select(*rows, pool.perf_table_model, pool.perf_table_hardware[gpu],
                                   pool.gpus_per_replica, pool.perf_table_file, path, ctx.errors);
    pool.perf_tables[gpu] = table ? std::make_shared<const PerfTable>(std::move(*table)) : nullptr;
  }
}

}  // namespace fleetsim
