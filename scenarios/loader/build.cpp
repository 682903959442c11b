#include "scenarios/loader/build.hpp"

#include <unordered_map>

#include "traces/generators.hpp"
#include "traces/jobs/job_traces.hpp"
#include "traces/request_csv.hpp"

namespace fleetsim {

JobTraceOptions job_trace_options(const JobsSpec& j) {
  JobTraceOptions trace;
  trace.format = j.format;
  trace.path = j.trace_path;
  trace.lenient = j.lenient;
  trace.throughput_table = j.throughputs;
  trace.columns.id = j.id_column;
  trace.columns.submit = j.submit_column;
  trace.columns.duration = j.duration_column;
  trace.columns.gpus = j.gpus_column;
  trace.columns.workers = j.workers_column;
  trace.columns.tenant = j.tenant_column;
  trace.columns.priority = j.priority_column;
  trace.columns.milli_gpu = j.milli_gpu_column;
  trace.columns.gpu_fraction = j.gpu_fraction_column;
  trace.columns.cpu = j.cpu_column;
  trace.columns.memory = j.memory_column;
  trace.columns.gpu_memory = j.gpu_memory_column;
  trace.columns.gpu_type = j.gpu_type_column;
  trace.columns.submit_unit = j.submit_unit;
  trace.columns.duration_unit = j.duration_unit;
  trace.columns.memory_unit = j.memory_unit;
  trace.columns.reference_gpu_type = j.reference_gpu_type;
  trace.columns.delimiter = j.delimiter;
  return trace;
}

TraceModelNames trace_model_names(const Scenario& scenario) {
  TraceModelNames names;
  for (std::uint32_t i = 0; i < scenario.models.size(); ++i) {
    if (scenario.models[i].role == ModelSpec::Role::Decode) continue;  // requests arrive at the prefill pool
    names[scenario.models[i].name] = ModelRef{i, kNoAdapter};
    for (std::uint32_t a = 0; a < scenario.models[i].adapters.size(); ++a)
      names[scenario.models[i].name + ":" + scenario.models[i].adapters[a].name] = ModelRef{i, a};
  }
  return names;
}

// What the policies of a run are told about it: the seed their streams derive from, and the
// names behind the ids they see.
PolicyRunInfo policy_run_info(const Scenario& scenario) {
  PolicyRunInfo run;
  run.seed = scenario.seed;
  for (const ModelSpec& m : scenario.models) run.models.push_back(m.name);
  for (const PoolSpec& p : scenario.pools) run.pools.push_back(p.name);
  for (const GpuType& g : scenario.gpu_types) run.gpu_types.push_back(g.name);
  return run;
}

SimulationSetup build_setup(const Scenario& scenario, const PolicyRegistry& registry) {
  SimulationSetup setup;
  setup.scenario = scenario;
  const PolicyRunInfo run = policy_run_info(scenario);
  setup.placement = registry.make_placement(scenario.placement, run);
  setup.router = registry.make_router(scenario.router, run);
  setup.batching = registry.make_batching(scenario.batching, run);
  setup.cache = registry.make_cache(scenario.cache, run);
  for (const ModelSpec& m : scenario.models)
    setup.autoscalers.push_back(registry.make_autoscaler(m.autoscaler, run));
  const auto names = trace_model_names(scenario);
  auto make_sources = [&](std::vector<std::unique_ptr<RequestSource>>& into) {
    for (const WorkloadSpec& w : scenario.workloads) {
      if (w.arrivals == WorkloadSpec::Arrivals::Trace)
        into.push_back(std::make_unique<RequestCsvReader>(w.trace_path, names, w.start));
      else
        into.push_back(std::make_unique<GeneratedSource>(
            w, scenario.seed, scenario.duration, scenario.models[w.model].adapters.size(),
            static_cast<std::uint32_t>(scenario.models[w.model].prefix_block_tokens)));
    }
  };
  make_sources(setup.sources);
  // Oracles see the future through a second copy of the same deterministic sources.
  bool any_future = false;
  for (const ModelSpec& m : scenario.models) {
    const PolicyInfo* info = registry.find(PolicyFamily::Autoscaler, m.autoscaler.impl);
    setup.sees_future.push_back(info && info->needs_future);
    any_future = any_future || setup.sees_future.back();
  }
  if (any_future) make_sources(setup.lookahead);
  if (scenario.jobs.enabled) {
    Diagnostics errors;  // the loader checked the file; a bad row surfaces during the run
    setup.job_source = open_job_trace(job_trace_options(scenario.jobs), errors);
    setup.job_policy = registry.make_queue(scenario.jobs.policy, run);
    if (!scenario.jobs.placement.impl.empty())
      setup.job_placement = registry.make_placement(scenario.jobs.placement, run);
  }
  return setup;
}

}  // namespace fleetsim
