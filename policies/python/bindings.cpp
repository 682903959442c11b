// The `fleetsim` Python module a policy script imports: the policy API's views and decisions with
// the C++ field names (policies/api/*.hpp and each family's header document them), the helpers
// the built-ins use, time constants, and the @fleetsim.policy decorator that registers a class.
// Views are read-only and valid during the call they are passed to.
#include <pybind11/embed.h>
#include <pybind11/stl.h>

#include "policies/python/python_host.hpp"

namespace fleetsim::python {

namespace {

template <class T>
Sequence<T> sequence_of(std::span<const T> s) {
  return {s.data(), s.size()};
}
template <class T>
Sequence<T> sequence_of(const std::vector<T>& v) {
  return {v.data(), v.size()};
}

template <class T>
void bind_sequence(py::module_& m, const char* name) {
  py::class_<Sequence<T>>(m, name)
      .def("__len__", [](const Sequence<T>& s) { return s.size; })
      .def(
          "__getitem__",
          [](const Sequence<T>& s, py::ssize_t i) -> const T& {
            if (i < 0) i += static_cast<py::ssize_t>(s.size);
            if (i < 0 || static_cast<std::size_t>(i) >= s.size) throw py::index_error("index out of range");
            return s.data[i];
          },
          py::return_value_policy::reference_internal)
      .def(
          "__iter__", [](const Sequence<T>& s) { return py::make_iterator(s.data, s.data + s.size); },
          py::keep_alive<0, 1>());
}

// A read-only property that is a Sequence over a span or vector member, kept alive with its owner.
#define FLEETSIM_SEQUENCE_PROPERTY(Owner, field) \
  def_property_readonly(                         \
      #field, [](const Owner& o) { return sequence_of(o.field); }, py::keep_alive<0, 1>())

ParamType param_type(const std::string& name) {
  if (name == "number") return ParamType::Number;
  if (name == "integer") return ParamType::Integer;
  if (name == "duration") return ParamType::Duration;
  if (name == "bool") return ParamType::Bool;
  if (name == "string") return ParamType::String;
  if (name == "models") return ParamType::ModelList;
  if (name == "pools") return ParamType::PoolList;
  throw py::value_error("fleetsim.Param: type \"" + name +
                        "\" is not one of number, integer, duration, bool, string, models, pools");
}

PolicyFamily family_named(const std::string& name) {
  for (PolicyFamily f : {PolicyFamily::Placement, PolicyFamily::Autoscaler, PolicyFamily::Router,
                         PolicyFamily::Cache, PolicyFamily::Queue, PolicyFamily::Batching})
    if (name == family_name(f)) return f;
  throw py::value_error("fleetsim.policy: family \"" + name +
                        "\" is not one of placement, autoscaler, router, cache, queue, batching");
}

// A default as a scenario file writes it: True -> "true", 3 -> "3", "60s" -> "60s".
std::string default_text(const py::object& value) {
  if (value.is_none()) return "";
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>() ? "true" : "false";
  if (py::isinstance<py::str>(value)) return value.cast<std::string>();
  if (py::isinstance<py::int_>(value) || py::isinstance<py::float_>(value)) return py::str(value).cast<std::string>();
  throw py::type_error("fleetsim.Param: a default is a str, a number or a bool");
}

// The methods a class of `family` must define (the others have the C++ interface's default).
std::vector<const char*> required_methods(PolicyFamily family) {
  switch (family) {
    case PolicyFamily::Placement: return {"place"};
    case PolicyFamily::Autoscaler: return {"evaluate"};
    case PolicyFamily::Router: return {"route"};
    case PolicyFamily::Cache: return {"admit", "victim"};
    case PolicyFamily::Queue: return {"order"};
    case PolicyFamily::Batching: return {"admit"};
  }
  return {};
}

}  // namespace

std::vector<ScriptPolicy>& pending_policies() {
  static std::vector<ScriptPolicy> pending;
  return pending;
}

py::dict params_dict(const std::vector<ParamSpec>& specs, const ParamValues& values) {
  py::dict out;
  for (const ParamSpec& spec : specs) {
    py::str key(spec.name);
    switch (spec.type) {
      case ParamType::Number: out[key] = values.number(spec.name); break;
      case ParamType::Integer: out[key] = values.integer(spec.name); break;
      case ParamType::Duration: out[key] = values.duration(spec.name); break;
      case ParamType::Bool: out[key] = values.flag(spec.name); break;
      case ParamType::String: out[key] = values.text(spec.name); break;
      case ParamType::ModelList:
      case ParamType::PoolList: out[key] = values.ids(spec.name); break;
    }
  }
  return out;
}

PYBIND11_EMBEDDED_MODULE(fleetsim, m) {
  m.doc() = "fleetsim's policy API for policies written in Python (see README, 'Policies in Python')";

  // Time: integer nanoseconds, as in C++ (policies/api/time.hpp).
  m.attr("NANOSECOND") = kNanosecond;
  m.attr("MILLISECOND") = kMillisecond;
  m.attr("SECOND") = kSecond;
  m.attr("MINUTE") = kMinute;
  m.attr("HOUR") = kHour;
  m.attr("NEVER") = kNever;
  m.def("seconds", &from_seconds, "seconds (float) -> nanoseconds (int), rounded");
  m.def("to_seconds", &to_seconds, "nanoseconds (int) -> seconds (float)");

  bind_sequence<NodeView>(m, "NodeSequence");
  bind_sequence<GpuSlot>(m, "GpuSequence");
  bind_sequence<CacheEntry>(m, "CacheEntrySequence");
  bind_sequence<std::uint32_t>(m, "IdSequence");
  bind_sequence<GpuType>(m, "GpuTypeSequence");
  bind_sequence<SimTime>(m, "TimeSequence");
  bind_sequence<PoolView>(m, "PoolSequence");
  bind_sequence<DrainCandidate>(m, "DrainCandidateSequence");
  bind_sequence<RouteCandidate>(m, "RouteCandidateSequence");
  bind_sequence<JobView>(m, "JobSequence");
  bind_sequence<std::string>(m, "NameSequence");

  py::class_<RngStream>(m, "RngStream")
      .def("uniform", py::overload_cast<>(&RngStream::uniform), "[0, 1)")
      .def("uniform", py::overload_cast<double, double>(&RngStream::uniform), "[lo, hi)")
      .def("below", &RngStream::below, "[0, n), unbiased")
      .def("exponential", &RngStream::exponential)
      .def("normal", &RngStream::normal)
      .def("lognormal", &RngStream::lognormal)
      .def("gamma", &RngStream::gamma);

  py::class_<ScriptContext>(m, "Context")
      .def_readonly("name", &ScriptContext::name)
      .def_readonly("params", &ScriptContext::params)
      .def_readonly("rng", &ScriptContext::rng, "the policy's own random stream (seeded from the run)")
      .def_readonly("seed", &ScriptContext::seed)
      .def_readonly("models", &ScriptContext::models)
      .def_readonly("pools", &ScriptContext::pools)
      .def_readonly("gpu_types", &ScriptContext::gpu_types);

  py::class_<ParamSpec>(m, "Param")
      .def(py::init([](std::string name, const std::string& type, const py::object& default_value, double min,
                       double max, std::string help) {
             return ParamSpec{std::move(name), param_type(type), default_text(default_value), min, max, std::move(help)};
           }),
           py::arg("name"), py::arg("type") = "number", py::arg("default") = py::none(), py::arg("min") = -1e300,
           py::arg("max") = 1e300, py::arg("help") = "")
      .def_readonly("name", &ParamSpec::name)
      .def_readonly("default", &ParamSpec::default_value);

  m.def(
      "policy",
      [](const std::string& family, std::string name, std::string description, std::vector<ParamSpec> params,
         bool needs_future) {
        ScriptPolicy p;
        p.family = family_named(family);
        p.name = std::move(name);
        p.description = std::move(description);
        p.params = std::move(params);
        p.needs_future = needs_future;
        if (p.needs_future && p.family != PolicyFamily::Autoscaler)
          throw py::value_error("fleetsim.policy: needs_future is for autoscalers only");
        return py::cpp_function([p](py::object cls) {
          for (const char* required : required_methods(p.family))
            if (!py::hasattr(cls, required))
              throw py::type_error("fleetsim.policy: " + py::str(cls.attr("__name__")).cast<std::string>() +
                                   " has no " + required + "() method, which a " + family_name(p.family) +
                                   " policy needs");
          ScriptPolicy registered = p;
          registered.cls = cls;
          pending_policies().push_back(std::move(registered));
          return cls;
        });
      },
      py::arg("family"), py::arg("name"), py::arg("description") = "", py::arg("params") = std::vector<ParamSpec>{},
      py::arg("needs_future") = false,
      "class decorator: registers the class as a policy of `family` named `name`; it is called with a "
      "fleetsim.Context to make each policy object");

  // The cluster (policies/api/cluster_view.hpp).
  py::class_<GpuType>(m, "GpuType")
      .def_readonly("name", &GpuType::name)
      .def_readonly("memory_bytes", &GpuType::memory_bytes)
      .def_readonly("bf16_flops", &GpuType::bf16_flops)
      .def_readonly("memory_bandwidth", &GpuType::memory_bandwidth)
      .def_readonly("host_to_device_bandwidth", &GpuType::host_to_device_bandwidth);
  py::class_<GpuSlot>(m, "GpuSlot")
      .def_readonly("memory_used", &GpuSlot::memory_used)
      .def_readonly("holders", &GpuSlot::holders)
      .def_readonly("milli_used", &GpuSlot::milli_used);
  py::class_<CacheEntry>(m, "CacheEntry")
      .def_readonly("model", &CacheEntry::model)
      .def_readonly("bytes", &CacheEntry::bytes)
      .def_readonly("inserted", &CacheEntry::inserted)
      .def_readonly("last_used", &CacheEntry::last_used)
      .def_readonly("hits", &CacheEntry::hits);
  py::class_<NodeView>(m, "NodeView")
      .def_readonly("id", &NodeView::id)
      .def_readonly("pool", &NodeView::pool)
      .def_readonly("up", &NodeView::up)
      .def_property_readonly(
          "gpu_type", [](const NodeView& n) { return n.gpu_type; }, py::return_value_policy::reference)
      .FLEETSIM_SEQUENCE_PROPERTY(NodeView, gpus)
      .def_readonly("free_gpus", &NodeView::free_gpus)
      .def_readonly("disk_cache_capacity", &NodeView::disk_cache_capacity)
      .def_readonly("disk_cache_used", &NodeView::disk_cache_used)
      .def_readonly("host_cache_capacity", &NodeView::host_cache_capacity)
      .def_readonly("host_cache_used", &NodeView::host_cache_used)
      .def_readonly("disk_read_bandwidth", &NodeView::disk_read_bandwidth)
      .def_readonly("network_bandwidth", &NodeView::network_bandwidth)
      .def_readonly("network_transfers", &NodeView::network_transfers)
      .def_readonly("disk_transfers", &NodeView::disk_transfers)
      .FLEETSIM_SEQUENCE_PROPERTY(NodeView, disk_cache)
      .FLEETSIM_SEQUENCE_PROPERTY(NodeView, host_cache)
      .FLEETSIM_SEQUENCE_PROPERTY(NodeView, images)
      .def_readonly("replicas", &NodeView::replicas)
      .def_readonly("cpu_capacity", &NodeView::cpu_capacity)
      .def_readonly("cpu_used", &NodeView::cpu_used)
      .def_readonly("host_memory_capacity", &NodeView::host_memory_capacity)
      .def_readonly("host_memory_used", &NodeView::host_memory_used)
      .def("has_cached", &NodeView::has_cached)
      .def("has_in_memory", &NodeView::has_in_memory)
      .def("has_image", &NodeView::has_image);
  py::class_<ClusterView>(m, "ClusterView")
      .def_readonly("now", &ClusterView::now)
      .FLEETSIM_SEQUENCE_PROPERTY(ClusterView, nodes)
      .def_readonly("model_store_bandwidth", &ClusterView::model_store_bandwidth)
      .def_readonly("model_store_transfers", &ClusterView::model_store_transfers)
      .def_readonly("registry_bandwidth", &ClusterView::registry_bandwidth)
      .def_readonly("registry_transfers", &ClusterView::registry_transfers);

  // Placement (policies/placement/placement.hpp).
  py::class_<PlacementRequest>(m, "PlacementRequest")
      .def_readonly("model", &PlacementRequest::model)
      .def_readonly("gpus", &PlacementRequest::gpus)
      .def_readonly("memory_per_gpu", &PlacementRequest::memory_per_gpu)
      .def_readonly("memory_fraction", &PlacementRequest::memory_fraction)
      .def_readonly("min_gpu_memory", &PlacementRequest::min_gpu_memory)
      .FLEETSIM_SEQUENCE_PROPERTY(PlacementRequest, pools)
      .def_readonly("weight_bytes", &PlacementRequest::weight_bytes)
      .def_readonly("image_bytes", &PlacementRequest::image_bytes)
      .def_readonly("milli_gpu", &PlacementRequest::milli_gpu)
      .def_readonly("cpu", &PlacementRequest::cpu)
      .def_readonly("host_memory", &PlacementRequest::host_memory)
      .FLEETSIM_SEQUENCE_PROPERTY(PlacementRequest, gpu_types)
      .FLEETSIM_SEQUENCE_PROPERTY(PlacementRequest, catalog)
      .def_readonly("asked_before", &PlacementRequest::asked_before);
  py::class_<Placement>(m, "Placement")
      .def(py::init([](std::uint32_t node, std::vector<int> gpus) { return Placement{node, std::move(gpus)}; }),
           py::arg("node"), py::arg("gpus"))
      .def_readonly("node", &Placement::node)
      .def_readonly("gpus", &Placement::gpus);
  py::class_<PlacementAnswer>(m, "PlacementAnswer")
      .def_property_readonly("never", [](const PlacementAnswer& a) { return a.never(); })
      .def_property_readonly("why", [](const PlacementAnswer& a) { return a.why(); })
      .def_property_readonly("placement", [](const PlacementAnswer& a) -> py::object {
        return a ? py::cast(*a) : py::none();
      });
  m.def("never", [](std::string why) { return PlacementAnswer::never(std::move(why)); }, py::arg("why"),
        "place()'s answer when no node of the cluster could host the request even empty");
  py::class_<PoolView>(m, "PoolView")
      .def_readonly("pool", &PoolView::pool)
      .def_property_readonly(
          "gpu_type", [](const PoolView& p) { return p.gpu_type; }, py::return_value_policy::reference)
      .def_readonly("gpus_per_node", &PoolView::gpus_per_node)
      .def_readonly("up", &PoolView::up)
      .def_readonly("pending", &PoolView::pending)
      .def_readonly("max_nodes", &PoolView::max_nodes);
  m.def("node_fits", &node_fits, py::arg("node"), py::arg("request"));
  m.def("node_could_fit", &node_could_fit, py::arg("node"), py::arg("request"));
  m.def("nothing_fits", &nothing_fits, py::arg("request"), py::arg("cluster"),
        "'never' when no node could host the request even empty, else 'not now'");
  m.def("lowest_free_gpus", &lowest_free_gpus, py::arg("node"), py::arg("request"));
  m.def("gpu_fits", &gpu_fits, py::arg("node"), py::arg("gpu"), py::arg("request"));
  m.def("memory_claim", &memory_claim, py::arg("node"), py::arg("request"));
  m.def("in_allowed_pool", &in_allowed_pool, py::arg("pool"), py::arg("request"));
  m.def("of_allowed_type", &of_allowed_type, py::arg("gpu_type"), py::arg("request"));

  // Autoscaling (policies/autoscaling/autoscaler.hpp).
  py::class_<ScalingView>(m, "ScalingView")
      .def_readonly("now", &ScalingView::now)
      .def_readonly("model", &ScalingView::model)
      .def_readonly("ready", &ScalingView::ready)
      .def_readonly("starting", &ScalingView::starting)
      .def_readonly("draining", &ScalingView::draining)
      .def_readonly("in_flight", &ScalingView::in_flight)
      .def_readonly("buffered", &ScalingView::buffered)
      .def_readonly("concurrency_integral", &ScalingView::concurrency_integral)
      .def_readonly("idle_since", &ScalingView::idle_since)
      .FLEETSIM_SEQUENCE_PROPERTY(ScalingView, idle_periods)
      .def_readonly("last_cold_start", &ScalingView::last_cold_start)
      .def_readonly("next_arrival", &ScalingView::next_arrival);
  py::class_<ScalingDecision>(m, "ScalingDecision")
      .def(py::init([](int desired, SimTime next_evaluation, SimTime wakeup, bool wake_on_arrival) {
             return ScalingDecision{desired, next_evaluation, wakeup, wake_on_arrival};
           }),
           py::arg("desired") = 0, py::arg("next_evaluation") = kNever, py::arg("wakeup") = kNever,
           py::arg("wake_on_arrival") = false)
      .def_readwrite("desired", &ScalingDecision::desired)
      .def_readwrite("next_evaluation", &ScalingDecision::next_evaluation)
      .def_readwrite("wakeup", &ScalingDecision::wakeup)
      .def_readwrite("wake_on_arrival", &ScalingDecision::wake_on_arrival);
  py::class_<DrainCandidate>(m, "DrainCandidate")
      .def_readonly("replica", &DrainCandidate::replica)
      .def_readonly("outstanding", &DrainCandidate::outstanding)
      .def_readonly("ready_since", &DrainCandidate::ready_since);

  // Routing (policies/routing/router.hpp).
  py::class_<RouteCandidate>(m, "RouteCandidate")
      .def_readonly("replica", &RouteCandidate::replica)
      .def_readonly("outstanding", &RouteCandidate::outstanding)
      .def_readonly("running", &RouteCandidate::running)
      .def_readonly("has_adapter", &RouteCandidate::has_adapter)
      .def_readonly("outstanding_tokens", &RouteCandidate::outstanding_tokens)
      .def_readonly("prefix_hit_tokens", &RouteCandidate::prefix_hit_tokens)
      .def_readonly("offload_hit_tokens", &RouteCandidate::offload_hit_tokens);
  py::class_<RouteRequest>(m, "RouteRequest")
      .def_readonly("model", &RouteRequest::model)
      .def_readonly("input_tokens", &RouteRequest::input_tokens)
      .def_readonly("output_tokens", &RouteRequest::output_tokens)
      .def_readonly("adapter", &RouteRequest::adapter);

  // Model caches (policies/cache/cache.hpp).
  py::enum_<CacheTier>(m, "CacheTier").value("HOST_MEMORY", CacheTier::HostMemory).value("DISK", CacheTier::Disk);
  m.attr("KEEP_ALL") = py::none();

  // Training and batch jobs (policies/queueing/queue_policy.hpp).
  py::class_<JobView>(m, "JobView")
      .def_readonly("index", &JobView::index)
      .def_readonly("submit", &JobView::submit)
      .def_readonly("gpus", &JobView::gpus)
      .def_readonly("running", &JobView::running)
      .def_readonly("preemptible", &JobView::preemptible)
      .def_readonly("priority", &JobView::priority)
      .def_readonly("tenant", &JobView::tenant)
      .def_readonly("total_seconds", &JobView::total_seconds)
      .def_readonly("remaining_seconds", &JobView::remaining_seconds)
      .def_readonly("attained_gpu_seconds", &JobView::attained_gpu_seconds)
      .def_readonly("cpu", &JobView::cpu)
      .def_readonly("memory_bytes", &JobView::memory_bytes)
      .def_readonly("last_start", &JobView::last_start);
  py::class_<QueueContext>(m, "QueueContext")
      .def_readonly("now", &QueueContext::now)
      .def_readonly("total_gpus", &QueueContext::total_gpus)
      .def_readonly("total_cpu", &QueueContext::total_cpu)
      .def_readonly("total_memory_bytes", &QueueContext::total_memory_bytes)
      .FLEETSIM_SEQUENCE_PROPERTY(QueueContext, tenants);

  // Batching (policies/batching/batching.hpp).
  py::class_<BatchState>(m, "BatchState")
      .def_readonly("now", &BatchState::now)
      .def_readonly("model", &BatchState::model)
      .def_readonly("running", &BatchState::running)
      .def_readonly("max_batch", &BatchState::max_batch)
      .def_readonly("waiting", &BatchState::waiting)
      .def_readonly("decoding", &BatchState::decoding)
      .def_readonly("kv_reserved_tokens", &BatchState::kv_reserved_tokens)
      .def_readonly("kv_capacity_tokens", &BatchState::kv_capacity_tokens)
      .def_readonly("step_requests", &BatchState::step_requests)
      .def_readonly("step_tokens", &BatchState::step_tokens)
      .def_readonly("max_prefill_tokens", &BatchState::max_prefill_tokens)
      .def_readonly("chunked_prefill", &BatchState::chunked_prefill)
      .def_readonly("kv_block_size", &BatchState::kv_block_size);
  py::class_<WaitingRequest>(m, "WaitingRequest")
      .def_readonly("arrival", &WaitingRequest::arrival)
      .def_readonly("input_tokens", &WaitingRequest::input_tokens)
      .def_readonly("output_tokens", &WaitingRequest::output_tokens)
      .def_readonly("lora", &WaitingRequest::lora);
}

}  // namespace fleetsim::python
