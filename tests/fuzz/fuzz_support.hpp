// What the libFuzzer harnesses share: the readers take paths, so each input is written to a
// file in a scratch folder made once per process (removed at exit), and inputs that carry two
// files (a trace and its side table) are split at a marker line.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>

namespace fleetsim::fuzz {

inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fleetsim-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    std::atexit([] { std::error_code ec; std::filesystem::remove_all(scratch_dir(), ec); });
    return std::filesystem::path(tmpl);
  }();
  return dir;
}

inline std::string write_file(const std::string& name, std::string_view bytes) {
  const std::filesystem::path p = scratch_dir() / name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p.string();
}

// "main part\n--8<--\nside part": the side part is empty when there is no marker.
inline constexpr std::string_view kSplit = "\n--8<--\n";
inline std::pair<std::string_view, std::string_view> split(std::string_view bytes) {
  const std::size_t at = bytes.find(kSplit);
  if (at == std::string_view::npos) return {bytes, {}};
  return {bytes.substr(0, at), bytes.substr(at + kSplit.size())};
}

}  // namespace fleetsim::fuzz
