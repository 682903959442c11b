#include "sim/program_files.hpp"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace fleetsim {

std::string find_program_file(const std::string& file, const char* env, const std::string& installed) {
  if (const char* set = env ? std::getenv(env) : nullptr; set && *set) return set;
  std::error_code ec;
  const std::filesystem::path program = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
  std::vector<std::filesystem::path> places;
  if (!ec) places = {program / file, program.parent_path() / file, program.parent_path() / "lib/fleetsim" / file};
  if (!installed.empty()) places.emplace_back(installed);
  for (const auto& place : places)
    if (std::filesystem::is_regular_file(place, ec)) return place.string();
  return "";
}

}  // namespace fleetsim
