// Model files: the weights a real-mode worker loads — what the model store serves and a node's
// cache folder keeps. A 32-byte header (the magic "FSMODEL1", then layers, hidden, heads, ffn
// and vocab as little-endian int32, then 4 bytes of zero) and the float32 weights in
// random_weights()'s order (real/worker/cpu_model.hpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "real/worker/cpu_model.hpp"

namespace fleetsim::real {

inline constexpr std::size_t kModelFileHeader = 32;

// Writes the seeded model of `shape` to `path` (via a temporary file renamed at the end).
// "" on success, else why not.
std::string write_model_file(const std::string& path, const ModelShape& shape, std::uint64_t seed);

struct ModelFileRead {
  ModelShape shape;
  std::vector<float> weights;
  std::uint64_t bytes = 0;
  bool direct = false;  // read with O_DIRECT (else the page cache was dropped first, if it could be)
  std::string error;    // non-empty: the file was not read
};

// Reads a model file as a cold load does: bypassing the page cache (O_DIRECT where the file
// system allows it, else posix_fadvise(DONTNEED) before reading), so a read from a node's disk
// costs what a disk read costs. Checks the header and the size against the shape.
ModelFileRead read_model_file(const std::string& path);

}  // namespace fleetsim::real
