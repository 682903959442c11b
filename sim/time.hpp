// SimTime lives in the policy API (policies/api/time.hpp), which policies compile against
// without sim/; the engine uses the same type.
#pragma once
#include "policies/api/time.hpp"
