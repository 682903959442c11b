// RngStream lives in the policy API (policies/api/random.hpp): policies draw from the stream
// the registry gives them; the engine uses the same generator for its own sources.
#pragma once
#include "policies/api/random.hpp"
