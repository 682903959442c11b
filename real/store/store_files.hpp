// Which files a model store serves, by name (README, "Real mode: the model store").
//
// A model is a regular file directly in the store's folder, asked for by its plain name. Refused
// as a bad name (HTTP 400): empty, ".", "..", anything with '/' or '\', a hidden name (leading
// '.': also how fetch_model names its partial downloads), control characters. Refused as unknown
// (HTTP 404): a name that does not exist, is not a regular file, or is a symbolic link that
// resolves outside the folder (or into a subfolder of it): a link may point at another model of
// the store, never elsewhere on the machine.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fleetsim {

// Why `name` is not a model name ("" when it is).
std::string model_name_problem(std::string_view name);

struct ModelFile {
  std::string name;
  std::filesystem::path path;  // resolved (links followed), inside the folder
  std::uint64_t bytes = 0;
};

struct ResolvedModel {
  int status = 200;  // 200, 400 (bad name) or 404 (unknown)
  std::string error;  // set when status != 200: for the response body
  ModelFile file;
};

// `folder` must be canonical (std::filesystem::canonical) — the server resolves it once.
ResolvedModel resolve_model(const std::filesystem::path& folder, std::string_view name);

// Every model the folder serves, sorted by name (what GET /models lists).
std::vector<ModelFile> list_models(const std::filesystem::path& folder);

}  // namespace fleetsim
