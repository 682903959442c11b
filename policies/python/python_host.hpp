// The Python policy host: a plugin (libfleetsim_python.so, built only when pybind11 is found)
// that embeds the Python interpreter and turns the classes a policy script registers with
// `@fleetsim.policy(...)` into PolicyInfo entries, so Python policies are made, validated and
// called through the same registry and the same family interfaces as C++ ones.
//
// Internal to the host's two source files: bindings.cpp (the `fleetsim` Python module: the views,
// decisions and helpers of the policy API) and python_policies.cpp (the C++ policies that call
// into a Python object, and the entry point the loader calls).
#pragma once
#include <pybind11/pybind11.h>

#include <cstddef>
#include <string>
#include <vector>

#include "policies/api/policy_info.hpp"

namespace fleetsim::python {

namespace py = pybind11;

// A read-only window on a span or vector the engine owns, valid during the call it is passed to
// (a policy that keeps something must copy it). Python sees a sequence: len(), [i], iteration.
template <class T>
struct Sequence {
  const T* data = nullptr;
  std::size_t size = 0;
};

// A class registered by a script with @fleetsim.policy, waiting to be added to the registry.
struct ScriptPolicy {
  PolicyFamily family = PolicyFamily::Placement;
  std::string name;
  std::string description;
  std::vector<ParamSpec> params;
  bool needs_future = false;
  py::object cls;  // called with a fleetsim.Context to make one policy object
};

// What the script being loaded has registered so far (the GIL guards it).
std::vector<ScriptPolicy>& pending_policies();

// A policy's parameters as a Python dict, converted by their declared types: numbers as float,
// integers as int, durations as int nanoseconds, bools as bool, strings as str, model and pool
// lists as lists of ids.
py::dict params_dict(const std::vector<ParamSpec>& specs, const ParamValues& values);

// What a factory hands the Python class: the policy's name, its parameters, its own random
// stream (a copy the policy owns) and the run's names.
struct ScriptContext {
  std::string name;
  py::dict params;
  RngStream rng;
  std::uint64_t seed = 1;
  std::vector<std::string> models, pools, gpu_types;
};

}  // namespace fleetsim::python
