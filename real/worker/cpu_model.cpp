#include "real/worker/cpu_model.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include "policies/api/random.hpp"

namespace fleetsim::real {

namespace {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXf;
using CacheMap = Eigen::Map<Matrix>;
using ConstCacheMap = Eigen::Map<const Matrix>;

// Each row x becomes x / rms(x) · gain.
Matrix rms_norm(const Matrix& x, const Vector& gain) {
  Matrix out(x.rows(), x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const float rms = std::sqrt(x.row(r).squaredNorm() / static_cast<float>(x.cols()) + 1e-5f);
    out.row(r) = x.row(r).cwiseProduct(gain.transpose()) / rms;
  }
  return out;
}

// Softmax over the first `visible` entries of `row`, in place; the rest become 0 (causal mask).
template <class Row>
void softmax_prefix(Row&& row, Eigen::Index visible) {
  auto head = row.head(visible);
  const float top = head.maxCoeff();
  head = (head.array() - top).exp();
  head /= head.sum();
  row.tail(row.size() - visible).setZero();
}

void silu(Matrix& m) { m = m.array() / (1.0f + (-m.array()).exp()); }

}  // namespace

std::string ModelShape::check() const {
  if (layers < 1 || hidden < 1 || heads < 1 || ffn < 1 || vocab < 2)
    return "layers, hidden, heads and ffn must be at least 1 and vocab at least 2";
  if (layers > 1024 || hidden > (1 << 16) || ffn > (1 << 18) || vocab > (1 << 22))
    return "too large (at most 1024 layers, hidden 65536, ffn 262144, vocab 4194304)";
  if (hidden % heads != 0) return "hidden (" + std::to_string(hidden) + ") must be a multiple of heads (" +
                                  std::to_string(heads) + ")";
  return "";
}

std::size_t ModelShape::parameters() const {
  const std::size_t d = hidden;
  const std::size_t per_layer = 4 * d * d + 2 * d * ffn + 2 * d;
  return static_cast<std::size_t>(vocab) * d + layers * per_layer + d;
}

KvCache::KvCache(const ModelShape& shape, int capacity)
    : data_(2 * static_cast<std::size_t>(shape.layers) * capacity * shape.hidden),
      hidden_(shape.hidden),
      capacity_(capacity) {}

struct CpuModel::Weights {
  struct Layer {
    Vector norm1, norm2;
    Matrix wq, wk, wv, wo, w1, w2;
  };
  Matrix embed;  // vocab × hidden; also the output projection
  std::vector<Layer> layers;
  Vector final_norm;
};

std::vector<float> random_weights(const ModelShape& shape, std::uint64_t seed) {
  if (const std::string why = shape.check(); !why.empty()) throw std::invalid_argument("model shape: " + why);
  RngStream rng(seed, "real/cpu-model");
  const double a = std::sqrt(3.0) * 0.02;
  const std::size_t d = shape.hidden;
  std::vector<float> w;
  w.reserve(shape.parameters());
  auto random = [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) w.push_back(static_cast<float>(rng.uniform(-a, a)));
  };
  auto ones = [&](std::size_t n) { w.insert(w.end(), n, 1.0f); };
  random(shape.vocab * d);
  for (int layer = 0; layer < shape.layers; ++layer) {
    ones(2 * d);
    random(4 * d * d + 2 * d * shape.ffn);
  }
  ones(d);
  return w;
}

CpuModel::CpuModel(const ModelShape& shape, std::uint64_t seed) : CpuModel(shape, random_weights(shape, seed)) {}

CpuModel::CpuModel(const ModelShape& shape, std::span<const float> weights) : shape_(shape), weights_(nullptr) {
  if (const std::string why = shape.check(); !why.empty()) throw std::invalid_argument("model shape: " + why);
  if (weights.size() != shape.parameters())
    throw std::invalid_argument("model weights: " + std::to_string(weights.size()) + " given, the shape has " +
                                std::to_string(shape.parameters()));
  auto owned = std::make_unique<Weights>();
  std::size_t at = 0;
  auto take = [&](auto& m, Eigen::Index rows, Eigen::Index cols) {
    m.resize(rows, cols);
    std::copy_n(weights.data() + at, rows * cols, m.data());
    at += static_cast<std::size_t>(rows * cols);
  };
  const int d = shape.hidden;
  take(owned->embed, shape.vocab, d);
  owned->layers.resize(shape.layers);
  for (Weights::Layer& l : owned->layers) {
    l.norm1.resize(d);
    std::copy_n(weights.data() + at, d, l.norm1.data());
    at += d;
    l.norm2.resize(d);
    std::copy_n(weights.data() + at, d, l.norm2.data());
    at += d;
    for (Matrix* m : {&l.wq, &l.wk, &l.wv, &l.wo}) take(*m, d, d);
    take(l.w1, d, shape.ffn);
    take(l.w2, shape.ffn, d);
  }
  owned->final_norm.resize(d);
  std::copy_n(weights.data() + at, d, owned->final_norm.data());
  weights_ = owned.release();
}

CpuModel::~CpuModel() { delete weights_; }

std::size_t CpuModel::weight_bytes() const { return shape_.parameters() * sizeof(float); }

void CpuModel::prefill(KvCache& cache, std::span<const int> tokens, std::span<float> logits) const {
  const int n = static_cast<int>(tokens.size());
  const int start = cache.length();
  const int end = start + n;
  if (n == 0 || end > cache.capacity()) throw std::length_error("prefill: no tokens, or past the KV cache's capacity");
  const int d = shape_.hidden, dh = d / shape_.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  Matrix x(n, d);
  for (int i = 0; i < n; ++i) x.row(i) = weights_->embed.row(tokens[i]);
  for (int layer = 0; layer < shape_.layers; ++layer) {
    const Weights::Layer& w = weights_->layers[layer];
    Matrix h = rms_norm(x, w.norm1);
    const Matrix q = h * w.wq;
    CacheMap keys(cache.keys(layer), cache.capacity(), d);
    CacheMap values(cache.values(layer), cache.capacity(), d);
    keys.middleRows(start, n).noalias() = h * w.wk;
    values.middleRows(start, n).noalias() = h * w.wv;
    Matrix attended(n, d);
    Matrix scores(n, end);
    for (int head = 0; head < shape_.heads; ++head) {
      const auto k = keys.topRows(end).middleCols(head * dh, dh);
      const auto v = values.topRows(end).middleCols(head * dh, dh);
      scores.noalias() = (q.middleCols(head * dh, dh) * k.transpose()) * scale;
      for (int i = 0; i < n; ++i) softmax_prefix(scores.row(i), start + i + 1);  // position start+i sees itself and before
      attended.middleCols(head * dh, dh).noalias() = scores * v;
    }
    x.noalias() += attended * w.wo;
    h = rms_norm(x, w.norm2);
    Matrix f = h * w.w1;
    silu(f);
    x.noalias() += f * w.w2;
  }
  cache.grow(n);
  const Matrix last = rms_norm(x.bottomRows(1), weights_->final_norm);
  Eigen::Map<Eigen::RowVectorXf> out(logits.data(), shape_.vocab);
  out.noalias() = last * weights_->embed.transpose();
}

void CpuModel::decode(std::span<KvCache* const> batch, std::span<const int> tokens, std::span<float> logits) const {
  const int b = static_cast<int>(batch.size());
  if (b == 0) return;
  const int d = shape_.hidden, dh = d / shape_.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  for (const KvCache* c : batch)
    if (c->length() >= c->capacity()) throw std::length_error("decode: a sequence is at its KV cache's capacity");
  Matrix x(b, d);
  for (int i = 0; i < b; ++i) x.row(i) = weights_->embed.row(tokens[i]);
  Vector scores;
  for (int layer = 0; layer < shape_.layers; ++layer) {
    const Weights::Layer& w = weights_->layers[layer];
    Matrix h = rms_norm(x, w.norm1);
    const Matrix q = h * w.wq;
    const Matrix new_keys = h * w.wk;
    const Matrix new_values = h * w.wv;
    Matrix attended(b, d);
    for (int i = 0; i < b; ++i) {
      KvCache& c = *batch[i];
      const int pos = c.length();
      CacheMap keys(c.keys(layer), c.capacity(), d);
      CacheMap values(c.values(layer), c.capacity(), d);
      keys.row(pos) = new_keys.row(i);
      values.row(pos) = new_values.row(i);
      for (int head = 0; head < shape_.heads; ++head) {
        const auto k = keys.topRows(pos + 1).middleCols(head * dh, dh);
        const auto v = values.topRows(pos + 1).middleCols(head * dh, dh);
        scores.noalias() = (k * q.row(i).segment(head * dh, dh).transpose()) * scale;
        softmax_prefix(scores, scores.size());
        attended.row(i).segment(head * dh, dh).noalias() = scores.transpose() * v;
      }
    }
    x.noalias() += attended * w.wo;
    h = rms_norm(x, w.norm2);
    Matrix f = h * w.w1;
    silu(f);
    x.noalias() += f * w.w2;
  }
  for (KvCache* c : batch) c->grow(1);
  Eigen::Map<Matrix> out(logits.data(), b, shape_.vocab);
  out.noalias() = rms_norm(x, weights_->final_norm) * weights_->embed.transpose();
}

int CpuModel::argmax(std::span<const float> logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

}  // namespace fleetsim::real
