// The cuda backend (ModelBackend): CpuModel's transformer (real/worker/cpu_model.hpp) on a GPU —
// weights copied once through a pinned host buffer, the projections and the feed-forward as
// cuBLAS SGEMMs, attention per head as SGEMM (prefill) or SGEMV (decode) against each
// sequence's KV cache in GPU memory, small kernels for the gathers, norms, softmax and SiLU.
// Built only when nvcc is found, as a module of its own (libfleetsim_cuda.so, real/CMakeLists.txt)
// that the worker opens when asked for the cuda backend: the program does not link CUDA (loading
// cuBLAS costs half a second at every start). Tests that need a GPU skip without one.
//
// Matrices are row-major, as in the cpu backend. cuBLAS is column-major, so a row-major
// product C = A·B (C m×n, A m×k, B k×n, leading dimensions = row strides) is computed as the
// column-major Cᵀ = Bᵀ·Aᵀ: gemm(N, N, n, m, k, B, ldb, A, lda, C, ldc); and C = A·Bᵀ (B n×k) as
// gemm(T, N, n, m, k, B, ldb, A, lda, C, ldc).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "real/worker/model_backend.hpp"

namespace fleetsim::real {

namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string("cuda: ") + what + ": " + cudaGetErrorString(status));
}
void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cublas: ") + what + ": status " + std::to_string(static_cast<int>(status)));
}

// GPU memory for `count` floats, freed with the object.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) : count_(count) {
    if (count) check(cudaMalloc(&data_, count * sizeof(float)), "cudaMalloc");
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : data_(o.data_), count_(o.count_) { o.data_ = nullptr, o.count_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(count_, o.count_);
    return *this;
  }
  ~DeviceBuffer() {
    if (data_) cudaFree(data_);
  }
  float* get() const { return data_; }
  std::size_t size() const { return count_; }
  // Grows (never shrinks) to at least `count` floats; the contents are not kept.
  void reserve(std::size_t count) {
    if (count > count_) *this = DeviceBuffer(count);
  }

 private:
  float* data_ = nullptr;
  std::size_t count_ = 0;
};

constexpr int kThreads = 256;
int blocks(std::size_t n) { return static_cast<int>((n + kThreads - 1) / kThreads); }

// out[r][:] = embed[tokens[r]][:]
__global__ void gather_rows(const float* embed, const int* tokens, float* out, int rows, int d) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<std::size_t>(rows) * d) return;
  const int r = static_cast<int>(i / d), c = static_cast<int>(i % d);
  out[i] = embed[static_cast<std::size_t>(tokens[r]) * d + c];
}

// One block per row: out[r] = x[r] / rms(x[r]) * gain.
__global__ void rms_norm_rows(const float* x, const float* gain, float* out, int d) {
  __shared__ float partial[kThreads];
  const float* row = x + static_cast<std::size_t>(blockIdx.x) * d;
  float sum = 0;
  for (int c = threadIdx.x; c < d; c += blockDim.x) sum += row[c] * row[c];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  const float inv = rsqrtf(partial[0] / d + 1e-5f);
  float* o = out + static_cast<std::size_t>(blockIdx.x) * d;
  for (int c = threadIdx.x; c < d; c += blockDim.x) o[c] = row[c] * inv * gain[c];
}

// One block per row of `scores` (width `cols`, row stride `ld`): softmax over the first
// `first_visible + row` entries (causal), zero beyond.
__global__ void causal_softmax_rows(float* scores, int cols, int ld, int first_visible) {
  __shared__ float partial[kThreads];
  float* row = scores + static_cast<std::size_t>(blockIdx.x) * ld;
  const int visible = min(cols, first_visible + static_cast<int>(blockIdx.x));
  float top = -INFINITY;
  for (int c = threadIdx.x; c < visible; c += blockDim.x) top = fmaxf(top, row[c]);
  partial[threadIdx.x] = top;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) partial[threadIdx.x] = fmaxf(partial[threadIdx.x], partial[threadIdx.x + s]);
    __syncthreads();
  }
  top = partial[0];
  __syncthreads();
  float sum = 0;
  for (int c = threadIdx.x; c < visible; c += blockDim.x) {
    row[c] = expf(row[c] - top);
    sum += row[c];
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  sum = partial[0];
  for (int c = threadIdx.x; c < cols; c += blockDim.x) row[c] = c < visible ? row[c] / sum : 0.0f;
}

__global__ void silu(float* x, std::size_t n) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i < n) x[i] = x[i] / (1.0f + expf(-x[i]));
}

class CudaSequence final : public SequenceState {
 public:
  CudaSequence(const ModelShape& shape, int capacity)
      : kv(2 * static_cast<std::size_t>(shape.layers) * capacity * shape.hidden), hidden(shape.hidden), cap(capacity) {}
  int length() const override { return len; }
  int capacity() const override { return cap; }
  std::unique_ptr<SequenceState> clone() const override { return std::make_unique<CudaSequence>(*this); }
  CudaSequence(const CudaSequence& o) : kv(o.kv.size()), hidden(o.hidden), cap(o.cap), len(o.len) {
    check(cudaMemcpy(kv.get(), o.kv.get(), kv.size() * sizeof(float), cudaMemcpyDeviceToDevice), "copy a KV cache");
  }
  float* keys(int layer) const { return kv.get() + (2 * static_cast<std::size_t>(layer)) * cap * hidden; }
  float* values(int layer) const { return kv.get() + (2 * static_cast<std::size_t>(layer) + 1) * cap * hidden; }

  DeviceBuffer kv;
  int hidden = 0;
  int cap = 0;
  int len = 0;
};

class CudaBackend final : public ModelBackend {
 public:
  CudaBackend(const ModelShape& shape, std::span<const float> weights) : shape_(shape) {
    check(cublasCreate(&blas_), "cublasCreate");
    // The host-to-device copy goes through a pinned buffer, as a serving engine's load does.
    float* pinned = nullptr;
    check(cudaMallocHost(&pinned, weights.size() * sizeof(float)), "cudaMallocHost");
    std::copy(weights.begin(), weights.end(), pinned);
    weights_ = DeviceBuffer(weights.size());
    const cudaError_t copied = cudaMemcpy(weights_.get(), pinned, weights.size() * sizeof(float), cudaMemcpyHostToDevice);
    cudaFreeHost(pinned);
    check(copied, "copy the weights to the GPU");
    // Pointers into the weights, in random_weights()'s order.
    const std::size_t d = shape.hidden;
    float* at = weights_.get();
    embed_ = at;
    at += static_cast<std::size_t>(shape.vocab) * d;
    layers_.resize(shape.layers);
    for (Layer& l : layers_) {
      l.norm1 = at, at += d;
      l.norm2 = at, at += d;
      l.wq = at, at += d * d;
      l.wk = at, at += d * d;
      l.wv = at, at += d * d;
      l.wo = at, at += d * d;
      l.w1 = at, at += d * shape.ffn;
      l.w2 = at, at += shape.ffn * d;
    }
    final_norm_ = at;
  }
  ~CudaBackend() override { cublasDestroy(blas_); }

  const char* name() const override { return "cuda"; }
  const ModelShape& shape() const override { return shape_; }
  std::unique_ptr<SequenceState> new_sequence(int capacity) const override {
    return std::make_unique<CudaSequence>(shape_, capacity);
  }

  void prefill(SequenceState& state, std::span<const int> tokens, std::span<float> logits) const override {
    auto& seq = static_cast<CudaSequence&>(state);
    const int n = static_cast<int>(tokens.size()), start = seq.len, end = start + n;
    if (n == 0 || end > seq.cap) throw std::length_error("prefill: no tokens, or past the KV cache's capacity");
    const int d = shape_.hidden, dh = d / shape_.heads, f = shape_.ffn;
    const float scale = 1.0f / std::sqrt(static_cast<float>(dh)), one = 1, zero = 0;
    x_.reserve(static_cast<std::size_t>(n) * d);
    h_.reserve(static_cast<std::size_t>(n) * d);
    q_.reserve(static_cast<std::size_t>(n) * d);
    o_.reserve(static_cast<std::size_t>(n) * d);
    f_.reserve(static_cast<std::size_t>(n) * f);
    s_.reserve(static_cast<std::size_t>(n) * end);
    upload_tokens(tokens);
    gather_rows<<<blocks(static_cast<std::size_t>(n) * d), kThreads>>>(embed_, device_tokens(), x_.get(), n, d);
    for (int layer = 0; layer < shape_.layers; ++layer) {
      const Layer& w = layers_[layer];
      float* keys = seq.keys(layer) + static_cast<std::size_t>(start) * d;
      float* values = seq.values(layer) + static_cast<std::size_t>(start) * d;
      rms_norm_rows<<<n, kThreads>>>(x_.get(), w.norm1, h_.get(), d);
      gemm(n, d, d, h_.get(), d, w.wq, d, q_.get(), d, zero);
      gemm(n, d, d, h_.get(), d, w.wk, d, keys, d, zero);
      gemm(n, d, d, h_.get(), d, w.wv, d, values, d, zero);
      for (int head = 0; head < shape_.heads; ++head) {
        const float* k = seq.keys(layer) + head * dh;
        const float* v = seq.values(layer) + head * dh;
        // scores (n × end) = Q_h · K_hᵀ · scale
        check(cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, end, n, dh, &scale, k, d, q_.get() + head * dh, d, &zero,
                          s_.get(), end),
              "attention scores");
        causal_softmax_rows<<<n, kThreads>>>(s_.get(), end, end, start + 1);
        // out_h (n × dh) = scores · V_h
        check(cublasSgemm(blas_, CUBLAS_OP_N, CUBLAS_OP_N, dh, n, end, &one, v, d, s_.get(), end, &zero,
                          o_.get() + head * dh, d),
              "attention output");
      }
      gemm(n, d, d, o_.get(), d, w.wo, d, x_.get(), d, one);  // x += out · Wo
      feed_forward(n, w);
    }
    seq.len = end;
    // The last position's logits: embed · norm(x_last).
    rms_norm_rows<<<1, kThreads>>>(x_.get() + static_cast<std::size_t>(n - 1) * d, final_norm_, h_.get(), d);
    logits_.reserve(shape_.vocab);
    check(cublasSgemv(blas_, CUBLAS_OP_T, d, shape_.vocab, &one, embed_, d, h_.get(), 1, &zero, logits_.get(), 1), "logits");
    check(cudaGetLastError(), "a kernel launch");
    check(cudaMemcpy(logits.data(), logits_.get(), shape_.vocab * sizeof(float), cudaMemcpyDeviceToHost), "logits back");
  }

  void decode(std::span<SequenceState* const> batch, std::span<const int> tokens, std::span<float> logits) const override {
    const int b = static_cast<int>(batch.size());
    if (b == 0) return;
    for (SequenceState* s : batch)
      if (s->length() >= s->capacity()) throw std::length_error("decode: a sequence is at its KV cache's capacity");
    const int d = shape_.hidden, dh = d / shape_.heads, f = shape_.ffn;
    const float scale = 1.0f / std::sqrt(static_cast<float>(dh)), one = 1, zero = 0;
    int longest = 0;
    for (SequenceState* s : batch) longest = std::max(longest, s->length() + 1);
    x_.reserve(static_cast<std::size_t>(b) * d);
    h_.reserve(static_cast<std::size_t>(b) * d);
    q_.reserve(static_cast<std::size_t>(b) * d);
    o_.reserve(static_cast<std::size_t>(b) * d);
    k_.reserve(static_cast<std::size_t>(b) * d);
    v_.reserve(static_cast<std::size_t>(b) * d);
    f_.reserve(static_cast<std::size_t>(b) * f);
    s_.reserve(static_cast<std::size_t>(longest));
    upload_tokens(tokens);
    gather_rows<<<blocks(static_cast<std::size_t>(b) * d), kThreads>>>(embed_, device_tokens(), x_.get(), b, d);
    for (int layer = 0; layer < shape_.layers; ++layer) {
      const Layer& w = layers_[layer];
      rms_norm_rows<<<b, kThreads>>>(x_.get(), w.norm1, h_.get(), d);
      gemm(b, d, d, h_.get(), d, w.wq, d, q_.get(), d, zero);
      gemm(b, d, d, h_.get(), d, w.wk, d, k_.get(), d, zero);
      gemm(b, d, d, h_.get(), d, w.wv, d, v_.get(), d, zero);
      for (int i = 0; i < b; ++i) {
        auto& seq = static_cast<CudaSequence&>(*batch[i]);
        const int pos = seq.len;
        const std::size_t row = static_cast<std::size_t>(pos) * d;
        check(cudaMemcpyAsync(seq.keys(layer) + row, k_.get() + static_cast<std::size_t>(i) * d, d * sizeof(float),
                              cudaMemcpyDeviceToDevice),
              "append a key");
        check(cudaMemcpyAsync(seq.values(layer) + row, v_.get() + static_cast<std::size_t>(i) * d, d * sizeof(float),
                              cudaMemcpyDeviceToDevice),
              "append a value");
        for (int head = 0; head < shape_.heads; ++head) {
          const float* k = seq.keys(layer) + head * dh;
          const float* v = seq.values(layer) + head * dh;
          const float* q = q_.get() + static_cast<std::size_t>(i) * d + head * dh;
          // scores (pos+1) = K_h · q · scale; out_h = V_hᵀ · softmax(scores)
          check(cublasSgemv(blas_, CUBLAS_OP_T, dh, pos + 1, &scale, k, d, q, 1, &zero, s_.get(), 1), "decode scores");
          causal_softmax_rows<<<1, kThreads>>>(s_.get(), pos + 1, pos + 1, pos + 1);
          check(cublasSgemv(blas_, CUBLAS_OP_N, dh, pos + 1, &one, v, d, s_.get(), 1, &zero,
                            o_.get() + static_cast<std::size_t>(i) * d + head * dh, 1),
                "decode output");
        }
      }
      gemm(b, d, d, o_.get(), d, w.wo, d, x_.get(), d, one);
      feed_forward(b, w);
    }
    for (SequenceState* s : batch) ++static_cast<CudaSequence*>(s)->len;
    rms_norm_rows<<<b, kThreads>>>(x_.get(), final_norm_, h_.get(), d);
    logits_.reserve(static_cast<std::size_t>(b) * shape_.vocab);
    // logits (b × vocab) = h · embedᵀ
    check(cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, shape_.vocab, b, d, &one, embed_, d, h_.get(), d, &zero,
                      logits_.get(), shape_.vocab),
          "decode logits");
    check(cudaGetLastError(), "a kernel launch");
    check(cudaMemcpy(logits.data(), logits_.get(), static_cast<std::size_t>(b) * shape_.vocab * sizeof(float),
                     cudaMemcpyDeviceToHost),
          "logits back");
  }

 private:
  struct Layer {
    float *norm1, *norm2, *wq, *wk, *wv, *wo, *w1, *w2;
  };

  // Row-major C (m × n) = A (m × k) · B (k × n) + beta · C.
  void gemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc, float beta) const {
    const float one = 1;
    check(cublasSgemm(blas_, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b, ldb, a, lda, &beta, c, ldc), "gemm");
  }

  // x += silu(norm(x) · W1) · W2 for `rows` rows.
  void feed_forward(int rows, const Layer& w) const {
    const int d = shape_.hidden, f = shape_.ffn;
    rms_norm_rows<<<rows, kThreads>>>(x_.get(), w.norm2, h_.get(), d);
    gemm(rows, f, d, h_.get(), d, w.w1, f, f_.get(), f, 0.0f);
    silu<<<blocks(static_cast<std::size_t>(rows) * f), kThreads>>>(f_.get(), static_cast<std::size_t>(rows) * f);
    gemm(rows, d, f, f_.get(), f, w.w2, d, x_.get(), d, 1.0f);
  }

  // Token ids go to the GPU in a float-sized buffer read as int (the same size).
  void upload_tokens(std::span<const int> tokens) const {
    static_assert(sizeof(int) == sizeof(float));
    token_storage_.reserve(tokens.size());
    check(cudaMemcpy(token_storage_.get(), tokens.data(), tokens.size() * sizeof(int), cudaMemcpyHostToDevice), "tokens");
  }
  const int* device_tokens() const { return reinterpret_cast<const int*>(token_storage_.get()); }

  ModelShape shape_;
  cublasHandle_t blas_ = nullptr;
  DeviceBuffer weights_;
  float* embed_ = nullptr;
  float* final_norm_ = nullptr;
  std::vector<Layer> layers_;
  // Scratch, grown as needed and reused: activations, scores, logits, token ids.
  mutable DeviceBuffer x_, h_, q_, k_, v_, o_, f_, s_, logits_, token_storage_;
};

}  // namespace

ModelBackend* new_cuda_backend(const ModelShape& shape, std::span<const float> weights) {
  return new CudaBackend(shape, weights);
}

}  // namespace fleetsim::real

// The module's one entry point (real/worker/model_backend.cpp opens the module and calls it):
// the backend, or null with the reason in `why`.
extern "C" __attribute__((visibility("default"))) fleetsim::real::ModelBackend* fleetsim_make_cuda_backend(
    const fleetsim::real::ModelShape* shape, const float* weights, std::size_t count, std::string* why) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    *why = "no CUDA device is usable on this machine";
    return nullptr;
  }
  try {
    return fleetsim::real::new_cuda_backend(*shape, std::span<const float>(weights, count));
  } catch (const std::exception& e) {
    *why = e.what();
    return nullptr;
  }
}
