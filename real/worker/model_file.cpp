#include "real/worker/model_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace fleetsim::real {

namespace {

constexpr char kMagic[8] = {'F', 'S', 'M', 'O', 'D', 'E', 'L', '1'};
constexpr std::size_t kAlignment = 4096;
constexpr std::size_t kChunk = 4 << 20;

void put_int(unsigned char* at, std::int32_t v) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<unsigned char>((static_cast<std::uint32_t>(v) >> (8 * i)) & 0xFF);
}
std::int32_t get_int(const unsigned char* at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(at[i]) << (8 * i);
  return static_cast<std::int32_t>(v);
}

struct FreeAligned {
  void operator()(unsigned char* p) const { std::free(p); }
};

}  // namespace

std::string write_model_file(const std::string& path, const ModelShape& shape, std::uint64_t seed) {
  if (const std::string why = shape.check(); !why.empty()) return "model shape: " + why;
  const std::vector<float> weights = random_weights(shape, seed);
  unsigned char header[kModelFileHeader] = {};
  std::memcpy(header, kMagic, sizeof kMagic);
  put_int(header + 8, shape.layers);
  put_int(header + 12, shape.hidden);
  put_int(header + 16, shape.heads);
  put_int(header + 20, shape.ffn);
  put_int(header + 24, shape.vocab);
  const std::string part = path + ".part";
  {
    std::ofstream out(part, std::ios::binary | std::ios::trunc);
    if (!out) return "cannot write " + part + ": " + std::strerror(errno);
    out.write(reinterpret_cast<const char*>(header), sizeof header);
    static_assert(sizeof(float) == 4);
    out.write(reinterpret_cast<const char*>(weights.data()), static_cast<std::streamsize>(weights.size() * 4));
    if (!out) {
      std::filesystem::remove(part);
      return "cannot write " + part + " (disk full?)";
    }
  }
  std::error_code ec;
  std::filesystem::rename(part, path, ec);
  if (ec) {
    std::filesystem::remove(part);
    return "cannot rename " + part + " to " + path + ": " + ec.message();
  }
  return "";
}

ModelFileRead read_model_file(const std::string& path) {
  ModelFileRead r;
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd >= 0) {
    r.direct = true;
  } else {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // tmpfs and some others refuse O_DIRECT
    if (fd < 0) {
      r.error = "cannot open " + path + ": " + std::strerror(errno);
      return r;
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    r.error = path + " is not a regular file";
    return r;
  }
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  if (size < kModelFileHeader || (size - kModelFileHeader) % 4 != 0) {
    ::close(fd);
    r.error = path + ": not a model file (" + std::to_string(size) + " bytes)";
    return r;
  }
  std::unique_ptr<unsigned char, FreeAligned> buffer(static_cast<unsigned char*>(std::aligned_alloc(kAlignment, kChunk)));
  std::vector<unsigned char> header;
  r.weights.resize((size - kModelFileHeader) / 4);
  unsigned char* weights = reinterpret_cast<unsigned char*>(r.weights.data());
  std::uint64_t offset = 0;
  while (offset < size) {
    const ssize_t got = ::read(fd, buffer.get(), kChunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      ::close(fd);
      r.error = path + ": read failed at byte " + std::to_string(offset) + (got < 0 ? std::string(": ") + std::strerror(errno) : "");
      r.weights.clear();
      return r;
    }
    // Bytes [offset, offset + got) of the file: the header's part, then the weights'.
    std::uint64_t used = 0;
    while (offset + used < kModelFileHeader && used < static_cast<std::uint64_t>(got)) header.push_back(buffer.get()[used++]);
    if (used < static_cast<std::uint64_t>(got))
      std::memcpy(weights + (offset + used - kModelFileHeader), buffer.get() + used, static_cast<std::size_t>(got) - used);
    offset += static_cast<std::uint64_t>(got);
  }
  ::close(fd);
  r.bytes = size;
  if (std::memcmp(header.data(), kMagic, sizeof kMagic) != 0) {
    r.error = path + ": not a model file (no FSMODEL1 header)";
    r.weights.clear();
    return r;
  }
  r.shape = ModelShape{get_int(&header[8]), get_int(&header[12]), get_int(&header[16]), get_int(&header[20]), get_int(&header[24])};
  if (const std::string why = r.shape.check(); !why.empty()) {
    r.error = path + ": bad shape in the header: " + why;
  } else if (r.weights.size() != r.shape.parameters()) {
    r.error = path + ": " + std::to_string(r.weights.size()) + " weights, the header's shape has " +
              std::to_string(r.shape.parameters());
  }
  if (!r.error.empty()) r.weights.clear();
  return r;
}

}  // namespace fleetsim::real
