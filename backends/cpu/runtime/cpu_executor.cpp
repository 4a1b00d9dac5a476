// The CPU backend, runtime side: loads the artifact's shared object from memory and runs
// its generated forward function over weights, KV cache and an activation arena.

#include <dlfcn.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "backends/cpu/kernels/key_block.h"
#include "backends/cpu/runtime/cpu_abi.h"
#include "backends/cpu/runtime/cpu_manifest.h"
#include "backends/cpu/runtime/packing.h"
#include "runtime/core/cpu_features.h"
#include "runtime/core/error.h"
#include "runtime/core/kv_type_names.h"
#include "runtime/execution/executor.h"
#include "runtime/execution/thread_pool.h"
#include <chrono>
#include <thread>

namespace qwen3c::cpu {

namespace {

// Anonymous, uninitialised memory (the OS supplies zero pages on first touch).
class AnonymousMemory {
 public:
  AnonymousMemory() = default;
  explicit AnonymousMemory(std::size_t bytes) : size_(bytes) {
    if (size_ == 0) return;
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      throw Error("cannot allocate " + std::to_string(size_) + " bytes: " + std::strerror(errno));
    }
    data_ = static_cast<std::uint8_t*>(p);
    ::madvise(p, size_, MADV_HUGEPAGE);  // the KV cache is read end to end every step
  }
  ~AnonymousMemory() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  AnonymousMemory(AnonymousMemory&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  AnonymousMemory& operator=(AnonymousMemory&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  std::uint8_t* bytes() const { return data_; }
  float* floats() const { return reinterpret_cast<float*>(data_); }
  std::size_t float_count() const { return size_ / sizeof(float); }

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Positions of a head's key or value region holding `positions`: keys (and q8_0 values) are
// stored in whole blocks of kKeyBlock positions (kernels/kv_cache.h).
std::int64_t whole_blocks(std::int64_t positions) {
  return (positions + q3k::kKeyBlock - 1) / q3k::kKeyBlock * q3k::kKeyBlock;
}

struct CpuState : ExecutorState {
  std::int64_t max_context = 0;
  KvType kv_type = KvType::F32;
  AnonymousMemory keys, values, arena;
  std::vector<AnonymousMemory> scratch;  // one per thread
  // Per layer, the key (value) cache of each (sequence, KV head):
  // k_heads[(layer * slots + slot) * kv_heads + head], max_context rows of head_dim elements;
  // the code reads k_layers[layer], which points at the layer's first.
  std::vector<std::uint8_t*> k_heads, v_heads;
  std::vector<std::uint8_t**> k_layers, v_layers;
};

class CpuExecutor : public Executor {
 public:
  CpuExecutor(const Artifact& artifact, WeightStore& weights) : config_(artifact.config()) {
    const CpuManifest m = CpuManifest::from_json(artifact);
    if (auto missing = missing_cpu_features(m.target_features); !missing.empty()) {
      std::string list;
      for (const auto& f : missing) list += (list.empty() ? "" : ", ") + f;
      throw Error(artifact.path() + ": compiled for CPU '" + m.target_cpu + "' with features this machine lacks (" +
                  list + "); recompile here or with --cpu x86-64-v3");
    }
    if (m.kernel_tier == "amx") request_amx_tiles(artifact.path());
    arena_per_token_ = m.arena_floats_per_token;
    scratch_per_token_ = m.scratch_floats_per_token;
    scratch_fixed_ = m.scratch_floats_fixed;
    load_code(artifact, artifact.read_blob(m.code, "code"), m.entry);
    check_fingerprint(artifact, m);
    kernels_ = m.kernels;
    kernel_barriers_ = m.kernel_barriers;
    for (const std::vector<std::int64_t>& indices : m.kernel_weights) {
      CallTime& call = calls_read_.emplace_back();
      for (std::int64_t i : indices) {
        const ArtifactTensor& tensor = artifact.tensors()[static_cast<std::size_t>(i)];
        call.weights.push_back(tensor.name);
        call.weight_bytes += tensor.byte_size();
      }
    }
    work_.assign(kernels_.size(), 0);  // the fingerprint held: one entry a call of the code
    for (std::size_t i = 0; i < weights.count(); ++i) weight_ptrs_.push_back(weights.data(i));
    if (artifact.random_seed()) pack_generated(artifact, weights);
  }

  // Linux hands out the AMX tile state only on request, once per process, before the first
  // tile instruction (which would otherwise fault).
  static void request_amx_tiles(const std::string& path) {
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    if (::syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) {
      throw Error(path + ": its code uses AMX tiles, which this kernel refuses (arch_prctl ARCH_REQ_XCOMP_PERM: " +
                  std::strerror(errno) + "); recompile with --cpu cooperlake or x86-64-v4 for AVX-512 without AMX");
    }
  }

  // Weights generated at load come out row-major: put each in the layout it was compiled for.
  static void pack_generated(const Artifact& artifact, WeightStore& weights) {
    for (std::size_t i = 0; i < artifact.tensors().size(); ++i) {
      const ArtifactTensor& t = artifact.tensors()[i];
      if (!is_packed_layout(t.layout)) continue;
      pack_in_place(t.layout, t.dtype, t.shape, static_cast<std::uint8_t*>(weights.mutable_data(i)), t.byte_size());
    }
  }

  ~CpuExecutor() override {
    if (library_ != nullptr) ::dlclose(library_);
    if (code_fd_ >= 0) ::close(code_fd_);
  }

  std::unique_ptr<ExecutorState> new_state(std::int64_t max_context, std::int64_t slots, KvType kv_type) override {
    require_kv_cache_memory(config_, max_context, slots, kv_type);
    auto state = std::make_unique<CpuState>();
    // A head's keys and values: whole blocks of kKeyBlock positions (kernels/kv_cache.h).
    const std::int64_t row_bytes = kv_row_bytes(kv_type, config_.head_dim);
    const std::size_t per_head = static_cast<std::size_t>(whole_blocks(max_context) * row_bytes);
    const std::size_t heads = static_cast<std::size_t>(config_.num_layers * slots * config_.num_kv_heads);
    state->keys = AnonymousMemory(per_head * heads);
    state->values = AnonymousMemory(per_head * heads);
    state->max_context = max_context;
    state->kv_type = kv_type;
    for (std::size_t i = 0; i < heads; ++i) {
      state->k_heads.push_back(state->keys.bytes() + i * per_head);
      state->v_heads.push_back(state->values.bytes() + i * per_head);
    }
    for (std::int64_t l = 0; l < config_.num_layers; ++l) {
      state->k_layers.push_back(state->k_heads.data() + l * slots * config_.num_kv_heads);
      state->v_layers.push_back(state->v_heads.data() + l * slots * config_.num_kv_heads);
    }
    return state;
  }

  bool can_replicate_cache() const override { return true; }
  void replicate_cache(ExecutorState& base, std::int64_t slot, std::int64_t held, std::int64_t length) override {
    if (held % q3k::kKeyBlock != 0) {
      throw Error("cannot copy a cache of " + std::to_string(held) + " positions: the CPU cache copies whole blocks of " +
                  std::to_string(q3k::kKeyBlock) + " keys");
    }
    auto& state = static_cast<CpuState&>(base);
    const std::int64_t row_bytes = kv_row_bytes(state.kv_type, config_.head_dim);
    const std::int64_t heads = config_.num_kv_heads;
    const std::int64_t slots = static_cast<std::int64_t>(state.k_heads.size()) / (config_.num_layers * heads);
    // Keys and q8_0 values are stored in blocks of kKeyBlock positions: whole blocks are
    // copied (a head's regions hold whole blocks), the positions past `length` unread.
    const std::int64_t whole_length = whole_blocks(length);
    auto copy = [&](std::uint8_t* head, std::int64_t end) {
      for (std::int64_t p = held; p < end; p += held) {
        const std::int64_t n = std::min(held, end - p);
        std::memcpy(head + p * row_bytes, head, static_cast<std::size_t>(n * row_bytes));
      }
    };
    for (std::int64_t l = 0; l < config_.num_layers; ++l) {
      for (std::int64_t h = 0; h < heads; ++h) {
        const std::size_t i = static_cast<std::size_t>((l * slots + slot) * heads + h);
        copy(state.k_heads[i], whole_length);
        copy(state.v_heads[i], whole_length);
      }
    }
  }

  std::vector<KvType> kv_types() const override {
    return {std::begin(kAllKvTypes), std::end(kAllKvTypes)};
  }

  void set_threads(int threads) override {
    const int n = std::max(1, threads);
    if (!pool_ || pool_->size() != n) {
      pool_ = std::make_unique<ThreadPool>(n);
      barrier_ = std::make_unique<SpinBarrier>(n);
    }
  }
  int threads() const override { return pool_ ? pool_->size() : 1; }

  void forward(ExecutorState& base, const ForwardRequest& r) override {
    auto& state = static_cast<CpuState&>(base);
    if (!pool_) set_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    const int threads = pool_->size();
    const auto tokens = static_cast<std::int64_t>(r.ids.size());
    // Exactly what the memory plan says: tokens x arena_floats_per_token.
    const std::size_t arena = static_cast<std::size_t>(tokens * arena_per_token_);
    if (state.arena.float_count() < arena) state.arena = AnonymousMemory(arena * sizeof(float));
    const std::size_t scratch = static_cast<std::size_t>(
        std::max({state.max_context, 2 * config_.head_dim, tokens * scratch_per_token_ + scratch_fixed_}));
    if (state.scratch.size() != static_cast<std::size_t>(threads)) state.scratch.resize(threads);
    for (AnonymousMemory& s : state.scratch) {
      if (s.float_count() < scratch) s = AnonymousMemory(scratch * sizeof(float));
    }
    ProfilingBarrier timed{barrier_.get(), {}, std::chrono::steady_clock::now()};
    const bool profiling = profiling_;
    std::fill(work_.begin(), work_.end(), 0);
    pool_->run([&](int thread) {
      t_records_profile = thread == 0;
      forward_(weight_ptrs_.data(), state.k_layers.data(), state.v_layers.data(),
               static_cast<std::int64_t>(state.kv_type), r.ids.data(), r.positions.data(), r.slots.data(), tokens,
               state.arena.floats(), state.scratch[thread].floats(),
               r.logits, r.logit_rows, thread, threads,
               profiling ? &ProfilingBarrier::wait_on : &SpinBarrier::wait_on,
               profiling ? static_cast<void*>(&timed) : static_cast<void*>(barrier_.get()), work_.data());
    });
    if (profiling) record(timed);
  }

  bool can_profile() const override { return !kernels_.empty(); }
  void set_profiling(bool on) override {
    profiling_ = on && can_profile();
    if (!profiling_) return;
    times_.assign(kernels_.size(), 0.0);
    calls_ = 0;
  }
  std::vector<CallTime> call_profile() const override {
    std::vector<CallTime> out;
    if (times_.size() != kernels_.size()) return out;  // never recorded
    for (std::size_t i = 0; i < kernels_.size(); ++i) {
      CallTime call = i < calls_read_.size() ? calls_read_[i] : CallTime{};
      call.kernel = kernels_[i];
      call.seconds = times_[i];
      call.steps = calls_;
      out.push_back(std::move(call));
    }
    return out;
  }

 private:
  // dlopen needs a file: the code lives in an anonymous in-memory one. The descriptor stays
  // open while the library is loaded: glibc identifies libraries by path, and a reused
  // /proc/self/fd/N would hand a second model the first one's code.
  void load_code(const Artifact& artifact, const std::vector<std::uint8_t>& code, const std::string& entry) {
    code_fd_ = ::memfd_create("qwen3c-cpu-code", MFD_CLOEXEC);
    if (code_fd_ < 0) throw Error(std::string("memfd_create failed: ") + std::strerror(errno));
    std::size_t written = 0;
    while (written < code.size()) {
      ssize_t n = ::write(code_fd_, code.data() + written, code.size() - written);
      if (n <= 0) throw Error("cannot stage the artifact's code in memory");
      written += static_cast<std::size_t>(n);
    }
    const std::string path = "/proc/self/fd/" + std::to_string(code_fd_);
    library_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library_ == nullptr) throw Error(artifact.path() + ": cannot load its code: " + ::dlerror());
    forward_ = reinterpret_cast<ForwardFn>(::dlsym(library_, entry.c_str()));
    if (forward_ == nullptr) throw Error(artifact.path() + ": code has no entry point '" + entry + "'");
  }

  // The manifest must describe what the code was compiled for (see CpuManifest::fingerprint_text).
  void check_fingerprint(const Artifact& artifact, const CpuManifest& m) const {
    const auto* baked = static_cast<const std::uint64_t*>(::dlsym(library_, kCodeFingerprint));
    const std::uint64_t expected =
        code_fingerprint(CpuManifest::fingerprint_text(artifact.manifest(), m), m.kernel_tier, m.target_features);
    if (baked == nullptr || *baked != expected) {
      throw Error(artifact.path() + ": the manifest does not match the code the artifact carries (the model, the "
                  "tensor table, the memory plan or the target differ from what it was compiled for): refusing to "
                  "run it; recompile the model");
    }
  }

  // The barrier every kernel ends with, timing each kernel on thread 0 when profiling.
  static inline thread_local bool t_records_profile = false;
  struct ProfilingBarrier {
    SpinBarrier* barrier;
    std::vector<std::chrono::steady_clock::time_point> stamps;
    std::chrono::steady_clock::time_point start;
    static void wait_on(void* context) {
      auto* self = static_cast<ProfilingBarrier*>(context);
      self->barrier->wait();
      if (t_records_profile) self->stamps.push_back(std::chrono::steady_clock::now());
    }
  };
  // Each kernel's time: from the barrier before it to its last one.
  void record(const ProfilingBarrier& timed) {
    auto previous = timed.start;
    std::size_t stamp = 0;
    for (std::size_t i = 0; i < kernels_.size(); ++i) {
      stamp += static_cast<std::size_t>(kernel_barriers_[i]) + 1;
      if (stamp > timed.stamps.size()) return;  // the code and the manifest disagree: no profile
      times_[i] += std::chrono::duration<double>(timed.stamps[stamp - 1] - previous).count();
      previous = timed.stamps[stamp - 1];
    }
    ++calls_;
  }

  ModelConfig config_;
  std::vector<std::string> kernels_;
  std::vector<std::int64_t> kernel_barriers_;
  std::vector<CallTime> calls_read_;  // each call's weights (names, bytes), for call_profile()
  std::vector<std::int64_t> work_;  // each kernel call's shared work counter (cpu_abi.h)
  bool profiling_ = false;
  std::vector<double> times_;
  std::int64_t calls_ = 0;
  std::int64_t arena_per_token_ = 0;
  std::int64_t scratch_per_token_ = 0;
  std::int64_t scratch_fixed_ = 0;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<SpinBarrier> barrier_;
  int code_fd_ = -1;
  void* library_ = nullptr;
  ForwardFn forward_ = nullptr;
  std::vector<const void*> weight_ptrs_;
};

const ExecutorRegistration registration(
    "cpu", [](const Artifact& artifact, WeightStore& weights, const ExecutorOptions& options) {
      if (options.device > 0) {
        throw Error("device " + std::to_string(options.device) + " does not exist: the CPU backend runs on device 0");
      }
      return std::make_unique<CpuExecutor>(artifact, weights);
    });

}  // namespace

}  // namespace qwen3c::cpu
