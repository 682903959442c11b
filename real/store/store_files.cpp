#include "real/store/store_files.hpp"

#include <algorithm>
#include <system_error>

namespace fleetsim {

namespace fs = std::filesystem;

std::string model_name_problem(std::string_view name) {
  if (name.empty()) return "empty model name";
  if (name == "." || name == "..") return "'" + std::string(name) + "' is not a model name";
  if (name.find('/') != std::string_view::npos || name.find('\\') != std::string_view::npos)
    return "a model name is a plain file name in the store, without '/' or '\\'";
  if (name.front() == '.') return "hidden names (starting with '.') are not served";
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return "a model name may not contain control characters";
  return "";
}

ResolvedModel resolve_model(const fs::path& folder, std::string_view name) {
  ResolvedModel out;
  if (std::string why = model_name_problem(name); !why.empty()) {
    out.status = 400;
    out.error = why;
    return out;
  }
  const std::string shown = "'" + std::string(name) + "'";
  const auto unknown = [&](const std::string& why) {
    out.status = 404;
    out.error = "no model " + shown + " in the store" + (why.empty() ? "" : " (" + why + ")");
    return out;
  };
  std::error_code ec;
  const fs::path path = fs::canonical(folder / fs::path(std::string(name)), ec);
  if (ec) return unknown("");
  // A link that leaves the folder: refused, and said as little about the target as a missing file.
  if (path.parent_path() != folder) return unknown("a link that leaves the store's folder");
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::is_regular_file(st)) return unknown("not a regular file");
  const std::uintmax_t bytes = fs::file_size(path, ec);
  if (ec) return unknown("");
  out.file = {std::string(name), path, static_cast<std::uint64_t>(bytes)};
  return out;
}

std::vector<ModelFile> list_models(const fs::path& folder) {
  std::vector<ModelFile> out;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    ResolvedModel m = resolve_model(folder, name);
    if (m.status == 200) out.push_back(std::move(m.file));
  }
  std::sort(out.begin(), out.end(), [](const ModelFile& a, const ModelFile& b) { return a.name < b.name; });
  return out;
}

}  // namespace fleetsim
