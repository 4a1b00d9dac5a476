#pragma once
// Thin RAII over the Vulkan objects the executor needs: the instance, one compute-capable
// device and queue, and buffers with their own memory. Every failure throws qwen3c::Error
// naming what was being done and the VkResult.

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/execution/executor.h"

namespace qwen3c::vulkan {

const char* result_name(VkResult result);
// Throws "Vulkan: <what> failed (<VkResult>)" unless `result` is VK_SUCCESS.
void check(VkResult result, const std::string& what);

// Every physical device, usable or not (a device is usable when its compute shaders have
// subgroup arithmetic); throws when there is no Vulkan loader or driver.
std::vector<DeviceInfo> list_devices();

class Device {
 public:
  // `index` into list_devices(), or -1 for the best usable one (discrete GPU first).
  explicit Device(int index);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  VkDevice get() const { return device_; }
  VkQueue queue() const { return queue_; }
  std::uint32_t queue_family() const { return queue_family_; }
  const VkPhysicalDeviceLimits& limits() const { return properties_.limits; }
  std::uint64_t max_allocation() const { return max_allocation_; }
  std::uint32_t subgroup_size() const { return subgroup_size_; }
  const std::string& name() const { return name_; }
  // Whether shaders may keep 16-bit values in storage buffers (f16 / bf16 KV caches).
  bool storage_16bit() const { return storage_16bit_; }
  // Valid bits of the queue's timestamps (0: it writes none), and nanoseconds a tick.
  std::uint32_t timestamp_bits() const { return timestamp_bits_; }
  double timestamp_period_ns() const { return properties_.limits.timestampPeriod; }
  // A memory type allowed by `type_bits` with every `required` property, preferring
  // `preferred`; throws naming `what` when none exists.
  std::uint32_t memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags required,
                            VkMemoryPropertyFlags preferred, const std::string& what) const;
  bool host_visible(std::uint32_t memory_type) const;

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  std::uint32_t queue_family_ = 0;
  VkPhysicalDeviceProperties properties_{};
  VkPhysicalDeviceMemoryProperties memory_{};
  std::uint64_t max_allocation_ = 0;
  std::uint32_t subgroup_size_ = 0;
  std::uint32_t timestamp_bits_ = 0;
  bool storage_16bit_ = false;
  std::string name_;
};

// A storage buffer with its own allocation. Host-visible buffers stay mapped.
class Buffer {
 public:
  enum class Memory { DeviceLocal, HostVisible };
  Buffer() = default;
  Buffer(std::shared_ptr<Device> device, std::uint64_t size, Memory memory, const std::string& what);
  ~Buffer();
  Buffer(Buffer&& other) noexcept { *this = std::move(other); }
  Buffer& operator=(Buffer&& other) noexcept;

  VkBuffer get() const { return buffer_; }
  std::uint64_t size() const { return size_; }
  void* mapped() const { return mapped_; }  // nullptr unless host-visible
  const std::string& what() const { return what_; }

 private:
  void release();
  std::shared_ptr<Device> device_;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  std::uint64_t size_ = 0;
  void* mapped_ = nullptr;
  std::string what_;
};

}  // namespace qwen3c::vulkan
