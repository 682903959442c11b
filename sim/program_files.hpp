// Finding the files that ship beside the fleetsim program and are opened only when needed (the
// Python policy host, real mode's cuda backend): $ENV when set, else the program's folder, the
// folder above it (a build tree: tests and benchmarks sit one level down), `lib/fleetsim/` beside
// the program's folder (an install prefix), else `installed` (the configured install path).
#pragma once
#include <string>

namespace fleetsim {

// The path of `file`, or "" when it is in none of those places.
std::string find_program_file(const std::string& file, const char* env, const std::string& installed = "");

}  // namespace fleetsim
