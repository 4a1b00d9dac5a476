// The Vulkan backend, runtime side: uploads the weights once into device-local memory,
// keeps the KV cache on the device, and runs a forward step as one command buffer of
// indirect dispatches, recorded once per session (and again only when a longer step needs
// bigger buffers). Per step the host writes the step buffer (ids, positions, slots, RoPE table)
// and the workgroup counts, submits, and reads back only the logits.

#include <algorithm>
#include <iterator>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "backends/vulkan/runtime/dispatch_plan.h"
#include "backends/vulkan/runtime/vulkan_device.h"
#include "runtime/core/error.h"
#include "runtime/core/kv_type_names.h"
#include "runtime/execution/executor.h"

namespace qwen3c::vulkan {

namespace {

// Keys a decode workgroup of attention.comp covers: the context is spread over
// ceil(context / kDecodeSplit) workgroups per head.
constexpr std::uint64_t kDecodeSplit = 256;
// Steps of at most this many rows split each row's keys so (decode, batched or not).
constexpr std::uint64_t kDecodeRows = 16;
constexpr std::uint64_t kStepHeaderWords = 8;
constexpr std::uint64_t kFenceTimeoutNs = 600ull * 1000 * 1000 * 1000;

// A dispatch as recorded: one of the plan's, or one slice of rows of it where its weight is
// larger than a binding may span (w0 then bound at an offset).
struct Recorded {
  std::size_t dispatch = 0;
  PushConstants push;
  VkDeviceSize w0_offset = 0;
  VkDeviceSize w0_range = VK_WHOLE_SIZE;
};

struct VulkanState : ExecutorState {
  std::shared_ptr<Device> device;
  std::int64_t max_context = 0, slots = 1;
  std::size_t kv_type = 0;  // index in kKvTypes
  std::vector<Buffer> keys, values;  // per layer: every slot's [max_context, kv_dim], in slot order
  Buffer indirect;                   // VkDispatchIndirectCommand per dispatch
  // Sized for `capacity` rows a step (the logits for `logit_capacity` rows: a prompt's step
  // wants one row of them, and a vocabulary's worth of rows for all would outgrow a binding);
  // replaced (and the commands re-recorded) to grow.
  std::int64_t capacity = 0, logit_capacity = 0;
  Buffer step, arena, logits, partials;
  VkCommandPool pool = VK_NULL_HANDLE;
  VkCommandBuffer commands = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  VkDescriptorPool descriptor_pool = VK_NULL_HANDLE;
  std::vector<VkDescriptorSet> sets;  // per recorded dispatch
  // While profiling: a timestamp before the first dispatch and after each (bench --profile).
  VkQueryPool timestamps = VK_NULL_HANDLE;
  bool recorded_timestamps = false;  // whether the command buffer writes them

  ~VulkanState() override {
    if (!device) return;
    VkDevice d = device->get();
    vkDeviceWaitIdle(d);
    if (timestamps != VK_NULL_HANDLE) vkDestroyQueryPool(d, timestamps, nullptr);
    if (descriptor_pool != VK_NULL_HANDLE) vkDestroyDescriptorPool(d, descriptor_pool, nullptr);
    if (fence != VK_NULL_HANDLE) vkDestroyFence(d, fence, nullptr);
    if (pool != VK_NULL_HANDLE) vkDestroyCommandPool(d, pool, nullptr);
  }
};

class VulkanExecutor : public Executor {
 public:
  VulkanExecutor(const Artifact& artifact, WeightStore& weights, const ExecutorOptions& options)
      : config_(artifact.config()) {
    const nlohmann::json& manifest = artifact.backend_manifest();
    if (manifest.value("workgroup_size", 0u) != kWorkgroupSize) {
      throw Error(artifact.path() + ": its shaders were built for another workgroup size; recompile it");
    }
    plan_ = plan_from_json(manifest, weights.count(), config_.num_layers, artifact);
    for (const ArtifactTensor& t : artifact.tensors()) tensors_.push_back({t.name, t.byte_size()});
    device_ = std::make_shared<Device>(options.device);
    binding_limit_ = binding_limit_of(*device_);
    try {
      create_pipelines(artifact);
      upload_weights(artifact, weights);
      slice_dispatches(artifact);
      unused_ = Buffer(device_, 256, Buffer::Memory::DeviceLocal, "an unused binding");
    } catch (...) {
      destroy();
      throw;
    }
  }
  ~VulkanExecutor() override { destroy(); }

  std::vector<KvType> kv_types() const override {
    if (!device_->storage_16bit()) return {KvType::F32};
    return {std::begin(kKvTypes), std::begin(kKvTypes) + plan_.kv_types};
  }

  std::unique_ptr<ExecutorState> new_state(std::int64_t max_context, std::int64_t slots, KvType kv_type) override {
    auto state = std::make_unique<VulkanState>();
    state->device = device_;
    state->max_context = max_context;
    state->slots = slots;
    state->kv_type = static_cast<std::size_t>(std::find(std::begin(kKvTypes), std::end(kKvTypes), kv_type) -
                                              std::begin(kKvTypes));
    if (state->kv_type >= plan_.kv_types) throw Error("the Vulkan backend has no " + kv_type_name(kv_type) + " KV cache");
    const std::uint64_t layer_bytes =
        static_cast<std::uint64_t>(max_context * slots) * kv_row_bytes(kv_type, config_.kv_dim());
    for (std::int64_t l = 0; l < config_.num_layers; ++l) {
      const std::string which = " cache of layer " + std::to_string(l) + " (" + std::to_string(slots) + " x " +
                                std::to_string(max_context) + " positions)";
      state->keys.emplace_back(device_, layer_bytes, Buffer::Memory::DeviceLocal, "the key" + which);
      state->values.emplace_back(device_, layer_bytes, Buffer::Memory::DeviceLocal, "the value" + which);
    }
    state->indirect = Buffer(device_, recorded_.size() * sizeof(VkDispatchIndirectCommand),
                             Buffer::Memory::HostVisible, "workgroup counts");
    VkDevice d = device_->get();
    VkCommandPoolCreateInfo pool{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pool.queueFamilyIndex = device_->queue_family();
    check(vkCreateCommandPool(d, &pool, nullptr, &state->pool), "creating a command pool");
    VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    alloc.commandPool = state->pool;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(d, &alloc, &state->commands), "allocating a command buffer");
    VkFenceCreateInfo fence{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(vkCreateFence(d, &fence, nullptr, &state->fence), "creating a fence");

    const auto sets = static_cast<std::uint32_t>(recorded_.size());
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, sets * kBindingCount};
    VkDescriptorPoolCreateInfo dp{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    dp.maxSets = sets;
    dp.poolSizeCount = 1;
    dp.pPoolSizes = &size;
    check(vkCreateDescriptorPool(d, &dp, nullptr, &state->descriptor_pool), "creating a descriptor pool");
    std::vector<VkDescriptorSetLayout> layouts(sets, set_layout_);
    VkDescriptorSetAllocateInfo ds{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ds.descriptorPool = state->descriptor_pool;
    ds.descriptorSetCount = sets;
    ds.pSetLayouts = layouts.data();
    state->sets.resize(sets);
    check(vkAllocateDescriptorSets(d, &ds, state->sets.data()), "allocating descriptor sets");
    return state;
  }

  void forward(ExecutorState& base, const ForwardRequest& r) override {
    auto& state = static_cast<VulkanState&>(base);
    const auto tokens = static_cast<std::uint64_t>(r.ids.size());
    const auto logit_rows = static_cast<std::uint64_t>(r.logit_rows);
    grow(state, static_cast<std::int64_t>(tokens), r.logit_rows);
    if (state.recorded_timestamps != profiling_) record(state);

    // The step buffer: header, ids, positions, slots, cos and sin of every (row, frequency).
    auto* words = static_cast<std::uint32_t*>(state.step.mapped());
    const auto capacity = static_cast<std::uint64_t>(state.capacity);
    std::uint64_t keys = 1;  // the most keys a row sees
    for (std::int64_t p : r.positions) keys = std::max(keys, static_cast<std::uint64_t>(p) + 1);
    // Few rows (decoding sequences): the keys spread over many workgroups a row.
    const std::uint64_t split = tokens <= kDecodeRows ? kDecodeSplit : keys;
    const std::uint64_t splits = (keys + split - 1) / split;
    const std::uint32_t header[kStepHeaderWords] = {static_cast<std::uint32_t>(tokens),
                                                    static_cast<std::uint32_t>(state.max_context),
                                                    static_cast<std::uint32_t>(logit_rows),
                                                    static_cast<std::uint32_t>(capacity),
                                                    static_cast<std::uint32_t>(split),
                                                    static_cast<std::uint32_t>(splits),
                                                    kv_scales(state),
                                                    static_cast<std::uint32_t>(state.logit_capacity)};
    std::memcpy(words, header, sizeof header);
    std::uint32_t* data = words + kStepHeaderWords;
    const std::uint64_t half = static_cast<std::uint64_t>(plan_.rope_head_dim / 2);
    for (std::uint64_t t = 0; t < tokens; ++t) {
      data[t] = static_cast<std::uint32_t>(r.ids[t]);
      data[capacity + t] = static_cast<std::uint32_t>(r.positions[t]);
      data[2 * capacity + t] = static_cast<std::uint32_t>(r.slots[t]);
      float* cos_row = reinterpret_cast<float*>(data + 3 * capacity + t * half);
      float* sin_row = reinterpret_cast<float*>(data + 3 * capacity + capacity * half + t * half);
      for (std::uint64_t i = 0; i < half; ++i) {
        // As Hugging Face (and the CPU backend): f32 inverse frequencies and angles.
        const float angle = static_cast<float>(r.positions[t]) * inv_freq_[i];
        cos_row[i] = std::cos(angle) * plan_.rope_scaling.attention_factor;
        sin_row[i] = std::sin(angle) * plan_.rope_scaling.attention_factor;
      }
    }
    auto* counts = static_cast<VkDispatchIndirectCommand*>(state.indirect.mapped());
    const std::uint64_t max_x = device_->limits().maxComputeWorkGroupCount[0];
    for (std::size_t i = 0; i < recorded_.size(); ++i) {
      const Dispatch& d = plan_.dispatches[recorded_[i].dispatch];
      const std::uint64_t rows = d.tail ? logit_rows : tokens;
      GridAxis x_axis = d.x;
      if (d.slicing == Slicing::OutputRows) x_axis.constant = recorded_[i].push.row_end - recorded_[i].push.row_base;
      std::uint64_t x = workgroups(x_axis, rows, splits);
      const std::uint64_t y = workgroups(d.y, rows, splits);
      std::uint64_t z = 1;
      if (x > max_x) {  // folded into z; the shaders unfold it (group_x())
        z = (x + max_x - 1) / max_x;
        x = (x + z - 1) / z;
      }
      counts[i] = {static_cast<std::uint32_t>(x), static_cast<std::uint32_t>(y), static_cast<std::uint32_t>(z)};
    }

    VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &state.commands;
    check(vkQueueSubmit(device_->queue(), 1, &submit, state.fence), "submitting a forward step");
    const VkResult waited = vkWaitForFences(device_->get(), 1, &state.fence, VK_TRUE, kFenceTimeoutNs);
    if (waited == VK_TIMEOUT) throw Error("Vulkan: a forward step did not finish within 10 minutes on " + device_->name());
    check(waited, "waiting for a forward step");
    check(vkResetFences(device_->get(), 1, &state.fence), "resetting a fence");
    if (state.recorded_timestamps) read_timestamps(state);
    if (r.logits != nullptr) {
      std::memcpy(r.logits, state.logits.mapped(), logit_rows * config_.vocab_size * sizeof(float));
    }
    if (r.greedy_token != nullptr) {
      if (!plan_.device_argmax) throw Error("this artifact has no argmax dispatch");
      std::uint32_t token = 0;
      std::memcpy(&token, static_cast<const std::uint8_t*>(state.logits.mapped()) +
                      static_cast<std::uint64_t>(state.logit_capacity) * config_.vocab_size * 4, 4);
      if (token >= static_cast<std::uint64_t>(config_.vocab_size)) {
        throw Error("Vulkan: the device's greedy token " + std::to_string(token) + " is outside the vocabulary");
      }
      *r.greedy_token = token;
    }
  }

  // Profiles from the queue's timestamps, on devices that write them (lavapipe does).
  bool can_profile() const override { return device_->timestamp_bits() > 0; }
  void set_profiling(bool on) override {
    profiling_ = on && can_profile();
    if (!profiling_) return;
    dispatch_seconds_.assign(plan_.dispatches.size(), 0.0);
    profiled_steps_ = 0;
  }
  std::vector<CallTime> call_profile() const override {
    std::vector<CallTime> out;
    for (std::size_t i = 0; i < dispatch_seconds_.size(); ++i) {
      const Dispatch& d = plan_.dispatches[i];
      CallTime& call = out.emplace_back();
      call.kernel = shader_label(d);
      call.seconds = dispatch_seconds_[i];
      call.steps = profiled_steps_;
      if (d.slicing == Slicing::LookupRows) continue;  // a lookup reads its tokens' rows, not the table
      for (std::int64_t w : {d.weight0, d.weight1}) {
        if (w < 0) continue;
        call.weights.push_back(tensors_[static_cast<std::size_t>(w)].name);
        call.weight_bytes += tensors_[static_cast<std::size_t>(w)].bytes;
      }
    }
    return out;
  }

  bool computes_argmax() const override { return plan_.device_argmax; }
  bool keeps_host_weights() const override { return false; }  // uploaded: the host copy can go
  // The logits buffer is one binding: its rows and the argmax's word must fit in it
  // (buffers are whole multiples of 16 bytes).
  std::int64_t max_logit_rows() const override {
    const VkDeviceSize usable = binding_limit() / 16 * 16;
    const auto rows = static_cast<std::int64_t>((usable / sizeof(float) - 1) / config_.vocab_size);
    return std::max<std::int64_t>(rows, 1);
  }

 private:
  void create_pipelines(const Artifact& artifact) {
    VkDevice d = device_->get();
    std::vector<VkDescriptorSetLayoutBinding> bindings(kBindingCount);
    for (std::uint32_t b = 0; b < kBindingCount; ++b) {
      bindings[b] = {b, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    }
    VkDescriptorSetLayoutCreateInfo sl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    sl.bindingCount = kBindingCount;
    sl.pBindings = bindings.data();
    check(vkCreateDescriptorSetLayout(d, &sl, nullptr, &set_layout_), "creating the descriptor set layout");
    VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(PushConstants)};
    VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pl.setLayoutCount = 1;
    pl.pSetLayouts = &set_layout_;
    pl.pushConstantRangeCount = 1;
    pl.pPushConstantRanges = &push;
    check(vkCreatePipelineLayout(d, &pl, nullptr, &pipeline_layout_), "creating the pipeline layout");

    // Shaders that keep the cache in 16 bits are built only where the device can run them.
    std::vector<bool> needs_16bit(plan_.shaders.size(), false);
    for (const Dispatch& dispatch : plan_.dispatches) {
      for (std::size_t t = 0; t < dispatch.kv_shaders.size(); ++t) {
        if (kKvTypes[t] != KvType::F32) needs_16bit[dispatch.kv_shaders[t]] = true;
      }
    }
    for (std::size_t index = 0; index < plan_.shaders.size(); ++index) {
      const ShaderEntry& shader = plan_.shaders[index];
      if (needs_16bit[index] && !device_->storage_16bit()) {
        pipelines_.push_back(VK_NULL_HANDLE);
        continue;
      }
      std::vector<std::uint8_t> code = artifact.read_blob(shader.code, "shader '" + shader.name + "'");
      std::uint32_t magic = 0;
      std::memcpy(&magic, code.data(), 4);
      if (magic != 0x07230203u) throw Error(artifact.path() + ": shader '" + shader.name + "' is not SPIR-V");
      VkShaderModuleCreateInfo sm{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
      sm.codeSize = code.size();
      sm.pCode = reinterpret_cast<const std::uint32_t*>(code.data());
      VkShaderModule module = VK_NULL_HANDLE;
      check(vkCreateShaderModule(d, &sm, nullptr, &module), "loading shader '" + shader.name + "'");
      VkComputePipelineCreateInfo cp{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
      cp.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
      cp.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
      cp.stage.module = module;
      cp.stage.pName = "main";
      cp.layout = pipeline_layout_;
      VkPipeline pipeline = VK_NULL_HANDLE;
      const VkResult r = vkCreateComputePipelines(d, VK_NULL_HANDLE, 1, &cp, nullptr, &pipeline);
      vkDestroyShaderModule(d, module, nullptr);
      check(r, "building the pipeline of shader '" + shader.name + "'");
      pipelines_.push_back(pipeline);
    }
    for (std::int64_t i = 0; i < plan_.rope_head_dim / 2; ++i) {
      inv_freq_.push_back(
          rope_inv_freq(plan_.rope_head_dim, static_cast<float>(plan_.rope_theta), plan_.rope_scaling, i));
    }
  }

  // Each weight in its own device-local buffer: written in place where the memory is
  // host-visible (CPU devices, resizable BAR), else through a staging buffer.
  void upload_weights(const Artifact& artifact, WeightStore& weights) {
    const auto& tensors = artifact.tensors();
    Buffer staging;
    VkCommandPool pool = VK_NULL_HANDLE;
    VkCommandBuffer commands = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    VkDevice d = device_->get();
    auto cleanup = [&] {
      if (fence != VK_NULL_HANDLE) vkDestroyFence(d, fence, nullptr);
      if (pool != VK_NULL_HANDLE) vkDestroyCommandPool(d, pool, nullptr);
    };
    try {
      for (std::size_t i = 0; i < tensors.size(); ++i) {
        const std::uint64_t bytes = tensors[i].byte_size();
        weights_.emplace_back(device_, bytes, Buffer::Memory::DeviceLocal, "weight '" + tensors[i].name + "'");
        const auto* source = static_cast<const std::uint8_t*>(weights.data(i));
        if (weights_.back().mapped() != nullptr) {
          std::memcpy(weights_.back().mapped(), source, bytes);
          continue;
        }
        if (pool == VK_NULL_HANDLE) {
          staging = Buffer(device_, 64ull << 20, Buffer::Memory::HostVisible, "the weight staging buffer");
          VkCommandPoolCreateInfo cp{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
          cp.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
          cp.queueFamilyIndex = device_->queue_family();
          check(vkCreateCommandPool(d, &cp, nullptr, &pool), "creating a command pool");
          VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
          alloc.commandPool = pool;
          alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
          alloc.commandBufferCount = 1;
          check(vkAllocateCommandBuffers(d, &alloc, &commands), "allocating a command buffer");
          VkFenceCreateInfo fc{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
          check(vkCreateFence(d, &fc, nullptr, &fence), "creating a fence");
        }
        for (std::uint64_t done = 0; done < bytes;) {
          const std::uint64_t chunk = std::min<std::uint64_t>(bytes - done, staging.size());
          std::memcpy(staging.mapped(), source + done, chunk);
          VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
          begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
          check(vkBeginCommandBuffer(commands, &begin), "recording an upload");
          VkBufferCopy region{0, done, chunk};
          vkCmdCopyBuffer(commands, staging.get(), weights_.back().get(), 1, &region);
          check(vkEndCommandBuffer(commands), "recording an upload");
          VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
          submit.commandBufferCount = 1;
          submit.pCommandBuffers = &commands;
          check(vkQueueSubmit(device_->queue(), 1, &submit, fence), "uploading weight '" + tensors[i].name + "'");
          check(vkWaitForFences(d, 1, &fence, VK_TRUE, kFenceTimeoutNs), "uploading weight '" + tensors[i].name + "'");
          check(vkResetFences(d, 1, &fence), "resetting a fence");
          done += chunk;
        }
      }
    } catch (...) {
      cleanup();
      throw;
    }
    cleanup();
  }

  // The most bytes one descriptor may span: the device's limit, or less where the
  // environment asks when the model is loaded (QWEN3C_VULKAN_MAX_BINDING_BYTES: tests
  // slice small models this way).
  VkDeviceSize binding_limit() const { return binding_limit_; }
  static VkDeviceSize binding_limit_of(const Device& device) {
    VkDeviceSize limit = device.limits().maxStorageBufferRange;
    if (const char* env = std::getenv("QWEN3C_VULKAN_MAX_BINDING_BYTES")) {
      const unsigned long long forced = std::strtoull(env, nullptr, 10);
      if (forced >= 4096) limit = std::min<VkDeviceSize>(limit, forced);
    }
    return limit;
  }

  // Each plan dispatch once, except those whose w0 is larger than a binding may span: bound
  // a slice of rows at a time (each slice's byte offset aligned as the device requires).
  void slice_dispatches(const Artifact& artifact) {
    const VkDeviceSize limit = binding_limit();
    const VkDeviceSize align = std::max<VkDeviceSize>(device_->limits().minStorageBufferOffsetAlignment, 4);
    for (std::size_t i = 0; i < plan_.dispatches.size(); ++i) {
      const Dispatch& d = plan_.dispatches[i];
      const std::uint64_t bytes = d.weight0 >= 0 ? weights_[d.weight0].size() : 0;
      if (bytes <= limit) {
        recorded_.push_back({i, d.push});
        continue;
      }
      const ArtifactTensor& t = artifact.tensors()[d.weight0];
      const std::string what = "weight '" + t.name + "' (" + std::to_string(t.byte_size() >> 20) + " MiB)";
      if (d.slicing == Slicing::None) {
        throw Error(what + " is larger than one binding may span on " + device_->name() + " (maxStorageBufferRange " +
                    std::to_string(limit >> 20) + " MiB), and " + d.op + " cannot read it in slices");
      }
      const std::uint64_t rows = static_cast<std::uint64_t>(t.shape[0]);
      const std::uint64_t row_bytes = t.byte_size() / rows;
      std::uint64_t slice = (limit - 16) / row_bytes;
      while (slice > 0 && (slice * row_bytes) % align != 0) --slice;
      if (slice == 0) throw Error(what + ": no slice of its rows fits one binding on " + device_->name());
      for (std::uint64_t first = 0; first < rows; first += slice) {
        const std::uint64_t last = std::min(rows, first + slice);
        Recorded r{i, d.push, first * row_bytes, ((last - first) * row_bytes + 3) / 4 * 4};
        r.push.row_base = static_cast<std::uint32_t>(first);
        r.push.row_end = static_cast<std::uint32_t>(last);
        recorded_.push_back(r);
      }
    }
  }

  // A q8_0 cache's scales follow a layer buffer's int8 values: the halfword they start at.
  std::uint32_t kv_scales(const VulkanState& s) const {
    if (kKvTypes[s.kv_type] != KvType::Q8_0) return 0;
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(s.max_context * s.slots) * config_.kv_dim() / 2);
  }

  // `wanted` rounded up to a power of two (fewer regrowths as steps lengthen), at most `most`.
  static std::int64_t rounded_capacity(std::int64_t wanted, std::int64_t most) {
    std::int64_t capacity = 1;
    while (capacity < wanted) capacity *= 2;
    return std::min(capacity, most);
  }

  // Makes the step-sized buffers hold `tokens` rows and the logits `logit_rows` of them,
  // rebinding and re-recording if they grow.
  void grow(VulkanState& s, std::int64_t tokens, std::int64_t logit_rows) {
    logit_rows = std::max<std::int64_t>(logit_rows, 1);  // the argmax's word needs a buffer too
    const bool more_rows = tokens > s.capacity, more_logits = logit_rows > s.logit_capacity;
    if (!more_rows && !more_logits) return;
    const std::int64_t most_rows = s.max_context * s.slots;
    vkDeviceWaitIdle(device_->get());
    if (more_rows) {
      const std::int64_t capacity = rounded_capacity(tokens, most_rows);
      const auto rows = static_cast<std::uint64_t>(capacity);
      const std::uint64_t half = static_cast<std::uint64_t>(plan_.rope_head_dim / 2);
      const std::uint64_t max_splits = (static_cast<std::uint64_t>(s.max_context) + kDecodeSplit - 1) / kDecodeSplit;
      // (row, head) units times their splits: rows x 1 for long steps, up to kDecodeRows rows
      // x max_splits for short ones.
      const std::uint64_t partial_slots =
          static_cast<std::uint64_t>(plan_.attention_heads) * std::max(rows, std::min(rows, kDecodeRows) * max_splits);
      s.step = Buffer(device_, (kStepHeaderWords + rows * (3 + 2 * half)) * 4, Buffer::Memory::HostVisible, "the step buffer");
      s.arena = Buffer(device_, rows * plan_.arena_floats_per_token * sizeof(float), Buffer::Memory::DeviceLocal,
                       "activations of a " + std::to_string(rows) + "-token step");
      s.partials = Buffer(device_, partial_slots * (plan_.attention_head_dim + 2) * sizeof(float),
                          Buffer::Memory::DeviceLocal, "attention partials");
      s.capacity = capacity;
    }
    if (more_logits) {
      // Rounding up must not pass what one binding spans when the rows asked for fit it.
      const std::int64_t capacity =
          rounded_capacity(logit_rows, std::min(most_rows, std::max(logit_rows, max_logit_rows())));
      // One word more: where the device's argmax leaves the greedy token.
      s.logits = Buffer(device_, (static_cast<std::uint64_t>(capacity) * config_.vocab_size + 1) * sizeof(float),
                        Buffer::Memory::HostVisible, "logits of " + std::to_string(capacity) + " rows");
      s.logit_capacity = capacity;
    }
    bind(s);
    record(s);
  }

  void bind(VulkanState& s) {
    std::vector<VkDescriptorBufferInfo> infos(recorded_.size() * kBindingCount);
    std::vector<VkWriteDescriptorSet> writes;
    const VkDeviceSize limit = binding_limit();
    auto whole = [&](const Buffer& b) {
      if (b.size() > limit) {
        throw Error(b.what() + " needs " + std::to_string(b.size() >> 20) + " MiB, more than one binding may span on " +
                    device_->name() + " (maxStorageBufferRange " + std::to_string(limit >> 20) + " MiB)");
      }
      return VkDescriptorBufferInfo{b.get(), 0, VK_WHOLE_SIZE};
    };
    for (std::size_t i = 0; i < recorded_.size(); ++i) {
      const Recorded& rec = recorded_[i];
      const Dispatch& d = plan_.dispatches[rec.dispatch];
      VkDescriptorBufferInfo* info = &infos[i * kBindingCount];
      info[kStepBinding] = whole(s.step);
      info[kArenaBinding] = whole(s.arena);
      info[kWeight0Binding] = d.weight0 >= 0 ? VkDescriptorBufferInfo{weights_[d.weight0].get(), rec.w0_offset, rec.w0_range}
                                             : whole(unused_);
      info[kWeight1Binding] = whole(d.weight1 >= 0 ? weights_[d.weight1] : unused_);
      info[kKeyCacheBinding] = whole(d.layer >= 0 ? s.keys[d.layer] : unused_);
      info[kValueCacheBinding] = whole(d.layer >= 0 ? s.values[d.layer] : unused_);
      info[kDestinationBinding] = whole((d.push.flags & kFlagToLogits) ? s.logits : s.arena);
      info[kPartialsBinding] = whole(s.partials);
      VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
      w.dstSet = s.sets[i];
      w.dstBinding = 0;
      w.descriptorCount = kBindingCount;
      w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      w.pBufferInfo = info;
      writes.push_back(w);
    }
    vkUpdateDescriptorSets(device_->get(), static_cast<std::uint32_t>(writes.size()), writes.data(), 0, nullptr);
  }

  // A dispatch's shader as one word (its name and constants, the session's cache type's
  // variant for cache dispatches), for profiles.
  std::string shader_label(const Dispatch& d) const {
    const std::uint32_t shader = d.kv_shaders.empty() ? d.shader : d.kv_shaders[profiled_kv_type_];
    std::string name = plan_.shaders[shader].name;
    std::replace(name.begin(), name.end(), ' ', '_');
    return name;
  }

  // Each dispatch's time in the step that just finished, added to its plan dispatch's.
  void read_timestamps(VulkanState& s) {
    std::vector<std::uint64_t> ticks(recorded_.size() + 1);
    check(vkGetQueryPoolResults(device_->get(), s.timestamps, 0, static_cast<std::uint32_t>(ticks.size()),
                                ticks.size() * sizeof(std::uint64_t), ticks.data(), sizeof(std::uint64_t),
                                VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
          "reading the step's timestamps");
    const std::uint32_t bits = device_->timestamp_bits();
    const std::uint64_t mask = bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
    for (std::size_t i = 0; i < recorded_.size(); ++i) {
      const std::uint64_t elapsed = ((ticks[i + 1] & mask) - (ticks[i] & mask)) & mask;
      dispatch_seconds_[recorded_[i].dispatch] += static_cast<double>(elapsed) * device_->timestamp_period_ns() * 1e-9;
    }
    ++profiled_steps_;
    profiled_kv_type_ = s.kv_type;
  }

  void record(VulkanState& s) {
    VkCommandBuffer c = s.commands;
    check(vkResetCommandBuffer(c, 0), "resetting the step's command buffer");
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    check(vkBeginCommandBuffer(c, &begin), "recording the step's command buffer");
    const auto stamps = static_cast<std::uint32_t>(recorded_.size() + 1);
    if (profiling_ && s.timestamps == VK_NULL_HANDLE) {
      VkQueryPoolCreateInfo pool{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
      pool.queryType = VK_QUERY_TYPE_TIMESTAMP;
      pool.queryCount = stamps;
      check(vkCreateQueryPool(device_->get(), &pool, nullptr, &s.timestamps), "creating a timestamp query pool");
    }
    s.recorded_timestamps = profiling_;
    if (s.recorded_timestamps) {
      vkCmdResetQueryPool(c, s.timestamps, 0, stamps);
      vkCmdWriteTimestamp(c, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, s.timestamps, 0);
    }
    VkMemoryBarrier between{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    between.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    between.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    std::uint32_t bound = UINT32_MAX;
    for (std::size_t i = 0; i < recorded_.size(); ++i) {
      const Dispatch& d = plan_.dispatches[recorded_[i].dispatch];
      // Dispatches that touch the cache run the variant of the session's cache type.
      const std::uint32_t shader = d.kv_shaders.empty() ? d.shader : d.kv_shaders[s.kv_type];
      if (shader != bound) {
        vkCmdBindPipeline(c, VK_PIPELINE_BIND_POINT_COMPUTE, pipelines_[shader]);
        bound = shader;
      }
      vkCmdBindDescriptorSets(c, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_layout_, 0, 1, &s.sets[i], 0, nullptr);
      vkCmdPushConstants(c, pipeline_layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(PushConstants),
                         &recorded_[i].push);
      vkCmdDispatchIndirect(c, s.indirect.get(), i * sizeof(VkDispatchIndirectCommand));
      vkCmdPipelineBarrier(c, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &between,
                           0, nullptr, 0, nullptr);
      if (s.recorded_timestamps) {
        vkCmdWriteTimestamp(c, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, s.timestamps, static_cast<std::uint32_t>(i + 1));
      }
    }
    VkMemoryBarrier to_host{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    to_host.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    to_host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(c, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, nullptr,
                         0, nullptr);
    check(vkEndCommandBuffer(c), "recording the step's command buffer");
  }

  void destroy() {
    if (!device_) return;
    VkDevice d = device_->get();
    vkDeviceWaitIdle(d);
    for (VkPipeline p : pipelines_) vkDestroyPipeline(d, p, nullptr);
    pipelines_.clear();
    if (pipeline_layout_ != VK_NULL_HANDLE) vkDestroyPipelineLayout(d, pipeline_layout_, nullptr);
    if (set_layout_ != VK_NULL_HANDLE) vkDestroyDescriptorSetLayout(d, set_layout_, nullptr);
    pipeline_layout_ = VK_NULL_HANDLE;
    set_layout_ = VK_NULL_HANDLE;
    weights_.clear();
    unused_ = Buffer();
  }

  ModelConfig config_;
  Plan plan_;
  std::shared_ptr<Device> device_;
  VkDeviceSize binding_limit_ = 0;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout pipeline_layout_ = VK_NULL_HANDLE;
  std::vector<VkPipeline> pipelines_;  // per shader
  std::vector<Buffer> weights_;        // per tensor
  std::vector<Recorded> recorded_;
  Buffer unused_;
  struct TensorSize {
    std::string name;
    std::uint64_t bytes = 0;
  };
  std::vector<TensorSize> tensors_;  // the tensor table, for profiles
  bool profiling_ = false;
  std::vector<double> dispatch_seconds_;  // per plan dispatch, over the recorded steps
  std::int64_t profiled_steps_ = 0;
  std::size_t profiled_kv_type_ = 0;
  std::vector<float> inv_freq_;
};

const ExecutorRegistration registration(
    "vulkan",
    [](const Artifact& artifact, WeightStore& weights, const ExecutorOptions& options) {
      return std::make_unique<VulkanExecutor>(artifact, weights, options);
    },
    list_devices);

}  // namespace

}  // namespace qwen3c::vulkan
