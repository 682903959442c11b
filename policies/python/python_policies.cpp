// Policies written in Python: one C++ policy per family that forwards each decision to a Python
// object, and the entry point the plugin loader calls for a `.py` file (policies/plugins.cpp).
//
// The interpreter is started once, on the first script, and never stopped (finalizing it while
// policies may still hold Python objects is not safe). Between decisions no thread holds the GIL:
// every call into Python takes it (sweeps run points on several threads; Python policies then
// take turns). A Python exception out of a decision becomes a C++ exception with Python's message,
// which the engine reports like any policy's exception (exit 1).
#include <dlfcn.h>
#include <pybind11/embed.h>
#include <pybind11/stl.h>

#include <filesystem>
#include <stdexcept>

#include "policies/api/plugin.hpp"
#include "policies/python/python_host.hpp"

namespace fleetsim::python {

namespace {

// A Python object that may be dropped on any thread and while no one holds the GIL.
class Object {
 public:
  Object() = default;
  explicit Object(py::object o) : o_(std::move(o)) {}
  Object(const Object& other) {
    py::gil_scoped_acquire gil;
    o_ = other.o_;
  }
  Object& operator=(const Object&) = delete;
  ~Object() {
    if (!o_) return;
    py::gil_scoped_acquire gil;
    o_ = py::object();
  }
  const py::object& get() const { return o_; }
  explicit operator bool() const { return bool(o_); }

 private:
  py::object o_;
};

// Runs `call` holding the GIL; a Python exception leaves as std::runtime_error with its message,
// so the exception that crosses into the engine does not need the GIL to be destroyed.
template <class F>
auto in_python(const std::string& policy, const char* method, F&& call) -> decltype(call()) {
  py::gil_scoped_acquire gil;
  try {
    return call();
  } catch (py::error_already_set& e) {
    throw std::runtime_error("Python policy " + policy + ": " + method + "() raised " + e.what());
  } catch (const py::builtin_exception& e) {  // a cast of its answer, or the checks here
    throw std::runtime_error("Python policy " + policy + ": " + method + "(): " + e.what());
  }
}

// The bound method `name` of the policy object, or nothing when its class does not define it
// (the family's C++ default then applies).
Object method(const py::object& self, const char* name, bool required, const std::string& policy) {
  if (py::hasattr(self, name)) return Object(self.attr(name));
  if (required) throw std::runtime_error("Python policy " + policy + " has no " + name + "() method");
  return Object();
}

template <class T>
py::object view(const T& value) {
  return py::cast(&value, py::return_value_policy::reference);
}
template <class T>
py::object view(std::span<const T> values) {
  return py::cast(Sequence<T>{values.data(), values.size()});
}

std::size_t index_answer(const py::object& answer, const char* method) {
  if (!py::isinstance<py::int_>(answer))
    throw py::type_error(std::string(method) + "() must return an int index");
  const long long i = answer.cast<long long>();
  return i < 0 ? static_cast<std::size_t>(-1) : static_cast<std::size_t>(i);  // the engine rejects it
}

class PythonPlacement final : public PlacementPolicy {
 public:
  PythonPlacement(const py::object& self, const std::string& n)
      : place_(method(self, "place", true, n)), choose_pool_(method(self, "choose_pool", false, n)) {}
  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    return in_python(name(), "place", [&]() -> PlacementAnswer {
      py::object answer = place_.get()(view(request), view(cluster));
      if (answer.is_none()) return std::nullopt;
      if (py::isinstance<Placement>(answer)) return answer.cast<Placement>();
      if (py::isinstance<PlacementAnswer>(answer)) return answer.cast<PlacementAnswer>();
      throw py::type_error("place() must return a fleetsim.Placement, None (not now) or fleetsim.never(why)");
    });
  }
  std::optional<std::uint32_t> choose_pool(const PlacementRequest& request, std::span<const PoolView> pools) override {
    if (!choose_pool_) return PlacementPolicy::choose_pool(request, pools);
    return in_python(name(), "choose_pool", [&]() -> std::optional<std::uint32_t> {
      py::object answer = choose_pool_.get()(view(request), view(pools));
      if (answer.is_none()) return std::nullopt;
      return answer.cast<std::uint32_t>();
    });
  }

 private:
  Object place_, choose_pool_;
};

class PythonAutoscaler final : public Autoscaler {
 public:
  PythonAutoscaler(const py::object& self, const std::string& n)
      : evaluate_(method(self, "evaluate", true, n)), choose_drain_(method(self, "choose_drain", false, n)) {}
  ScalingDecision evaluate(const ScalingView& v) override {
    return in_python(name(), "evaluate", [&] { return evaluate_.get()(view(v)).cast<ScalingDecision>(); });
  }
  std::size_t choose_drain(std::span<const DrainCandidate> ready) override {
    if (!choose_drain_) return Autoscaler::choose_drain(ready);
    return in_python(name(), "choose_drain",
                     [&] { return index_answer(choose_drain_.get()(view(ready)), "choose_drain"); });
  }

 private:
  Object evaluate_, choose_drain_;
};

class PythonRouter final : public Router {
 public:
  PythonRouter(const py::object& self, const std::string& n) : route_(method(self, "route", true, n)) {}
  std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest& request) override {
    return in_python(name(), "route",
                     [&] { return index_answer(route_.get()(view(candidates), view(request)), "route"); });
  }

 private:
  Object route_;
};

class PythonCache final : public CachePolicy {
 public:
  PythonCache(const py::object& self, const std::string& n)
      : admit_(method(self, "admit", true, n)),
        victim_(method(self, "victim", true, n)),
        on_insert_(method(self, "on_insert", false, n)),
        on_hit_(method(self, "on_hit", false, n)),
        on_evict_(method(self, "on_evict", false, n)),
        prefetch_at_start_(method(self, "prefetch_at_start", false, n)),
        prefetch_on_scale_up_(method(self, "prefetch_on_scale_up", false, n)) {}
  bool admit(CacheTier tier, std::uint32_t model, double bytes, const NodeView& node) override {
    return in_python(name(), "admit", [&] { return admit_.get()(tier, model, bytes, view(node)).cast<bool>(); });
  }
  std::size_t victim(CacheTier tier, std::span<const CacheEntry> entries, const NodeView& node) override {
    return in_python(name(), "victim", [&] {
      py::object answer = victim_.get()(tier, view(entries), view(node));
      return answer.is_none() ? kKeepAll : index_answer(answer, "victim");
    });
  }
  void on_insert(CacheTier tier, const CacheEntry& entry, const NodeView& node) override {
    notify(on_insert_, "on_insert", tier, entry, node);
  }
  void on_hit(CacheTier tier, const CacheEntry& entry, const NodeView& node) override {
    notify(on_hit_, "on_hit", tier, entry, node);
  }
  void on_evict(CacheTier tier, const CacheEntry& entry, const NodeView& node) override {
    notify(on_evict_, "on_evict", tier, entry, node);
  }
  std::vector<std::uint32_t> prefetch_at_start(const NodeView& node) override {
    if (!prefetch_at_start_) return {};
    return in_python(name(), "prefetch_at_start",
                     [&] { return prefetch_at_start_.get()(view(node)).cast<std::vector<std::uint32_t>>(); });
  }
  std::vector<std::uint32_t> prefetch_on_scale_up(std::uint32_t model, const ClusterView& cluster) override {
    if (!prefetch_on_scale_up_) return {};
    return in_python(name(), "prefetch_on_scale_up", [&] {
      return prefetch_on_scale_up_.get()(model, view(cluster)).cast<std::vector<std::uint32_t>>();
    });
  }

 private:
  void notify(const Object& f, const char* what, CacheTier tier, const CacheEntry& entry, const NodeView& node) {
    if (f) in_python(name(), what, [&] { f.get()(tier, view(entry), view(node)); });
  }
  Object admit_, victim_, on_insert_, on_hit_, on_evict_, prefetch_at_start_, prefetch_on_scale_up_;
};

class PythonQueue final : public QueuePolicy {
 public:
  PythonQueue(const py::object& self, const std::string& n)
      : order_(method(self, "order", true, n)), rank_victims_(method(self, "rank_victims", false, n)) {
    // `preemptive`: a class attribute, a property or a method — whether running jobs may be
    // preempted (default False). Read once: a queue policy's kind does not change during a run.
    if (py::hasattr(self, "preemptive")) {
      py::object p = self.attr("preemptive");
      if (PyCallable_Check(p.ptr())) p = p();
      preemptive_ = p.cast<bool>();
    }
  }
  bool preemptive() const override { return preemptive_; }
  void order(const QueueContext& context, std::span<const JobView> jobs, std::vector<std::uint32_t>& out) override {
    out = in_python(name(), "order",
                    [&] { return order_.get()(view(context), view(jobs)).cast<std::vector<std::uint32_t>>(); });
  }
  void rank_victims(const QueueContext& context, std::span<const JobView> running,
                    std::vector<std::uint32_t>& out) override {
    if (!rank_victims_) return QueuePolicy::rank_victims(context, running, out);
    out = in_python(name(), "rank_victims", [&] {
      return rank_victims_.get()(view(context), view(running)).cast<std::vector<std::uint32_t>>();
    });
  }

 private:
  Object order_, rank_victims_;
  bool preemptive_ = false;
};

class PythonBatching final : public BatchingPolicy {
 public:
  PythonBatching(const py::object& self, const std::string& n) : admit_(method(self, "admit", true, n)) {}
  BatchAdmission admit(const BatchState& batch, const WaitingRequest& request) override {
    return in_python(name(), "admit", [&] {
      return admit_.get()(view(batch), view(request)).cast<bool>() ? BatchAdmission::Admit : BatchAdmission::Stop;
    });
  }

 private:
  Object admit_;
};

// Makes the Python object of `script` for one run and wraps it in the family's C++ policy.
template <class Wrapper>
std::unique_ptr<Wrapper> make(const Object& cls, const std::vector<ParamSpec>& specs, const PolicyContext& c) {
  py::gil_scoped_acquire gil;
  try {
    ScriptContext context;
    context.name = c.name;
    context.params = params_dict(specs, c.params);
    context.rng = c.rng;
    context.seed = c.run->seed;
    context.models = c.run->models;
    context.pools = c.run->pools;
    context.gpu_types = c.run->gpu_types;
    py::object self = cls.get()(std::move(context));
    auto policy = std::make_unique<Wrapper>(self, c.name);
    policy->set_name(c.name);
    return policy;
  } catch (py::error_already_set& e) {
    throw std::runtime_error("Python policy " + c.name + ": making it raised " + e.what());
  }
}

PolicyInfo policy_info(const ScriptPolicy& script) {
  PolicyInfo info;
  info.family = script.family;
  info.name = script.name;
  info.description = script.description;
  info.params = script.params;
  info.needs_future = script.needs_future;
  const Object cls(script.cls);
  const std::vector<ParamSpec> specs = script.params;
  switch (script.family) {
    case PolicyFamily::Placement:
      info.make_placement = [cls, specs](const PolicyContext& c) { return make<PythonPlacement>(cls, specs, c); };
      break;
    case PolicyFamily::Autoscaler:
      info.make_autoscaler = [cls, specs](const PolicyContext& c) { return make<PythonAutoscaler>(cls, specs, c); };
      break;
    case PolicyFamily::Router:
      info.make_router = [cls, specs](const PolicyContext& c) { return make<PythonRouter>(cls, specs, c); };
      break;
    case PolicyFamily::Cache:
      info.make_cache = [cls, specs](const PolicyContext& c) { return make<PythonCache>(cls, specs, c); };
      break;
    case PolicyFamily::Queue:
      info.make_queue = [cls, specs](const PolicyContext& c) { return make<PythonQueue>(cls, specs, c); };
      break;
    case PolicyFamily::Batching:
      info.make_batching = [cls, specs](const PolicyContext& c) { return make<PythonBatching>(cls, specs, c); };
      break;
  }
  return info;
}

// Starts the interpreter on the first call and leaves the GIL released.
void start_python() {
  static bool started = false;
  if (started) return;
  py::initialize_interpreter();
  // Extension modules a script imports (the standard library's, numpy's) look up the
  // interpreter's symbols globally; the loader opened this library with RTLD_GLOBAL for that.
  started = true;
  PyEval_SaveThread();
}

}  // namespace

}  // namespace fleetsim::python

FLEETSIM_PLUGIN(registrar) { (void)registrar; }  // the ABI symbol; policies come from scripts

// Runs the script at `path` and adds the policies it registered with @fleetsim.policy. A Python
// error while running it throws, with Python's message (the loader reports it as a registration
// that threw, and registers nothing of the script).
extern "C" __attribute__((visibility("default"))) void fleetsim_python_load(fleetsim::PluginRegistrar& registrar,
                                                                         const char* path) {
  namespace py = pybind11;
  using namespace fleetsim::python;
  start_python();
  py::gil_scoped_acquire gil;
  pending_policies().clear();
  std::vector<fleetsim::PolicyInfo> infos;
  try {
    const std::filesystem::path script(path);
    py::list sys_path = py::module_::import("sys").attr("path");
    const std::string folder = script.parent_path().string();
    if (!sys_path.contains(folder)) sys_path.insert(0, folder);  // the script may import its neighbours
    py::dict globals;
    globals["__builtins__"] = py::module_::import("builtins");
    globals["__name__"] = "fleetsim_policy_" + script.stem().string();
    globals["__file__"] = script.string();
    py::eval_file(path, globals);
    for (const ScriptPolicy& p : pending_policies()) infos.push_back(policy_info(p));
  } catch (py::error_already_set& e) {
    pending_policies().clear();
    throw std::runtime_error(std::string("Python raised ") + e.what());
  }
  pending_policies().clear();
  for (fleetsim::PolicyInfo& info : infos) registrar.add(std::move(info));
}
