#include "backends/vulkan/runtime/vulkan_device.h"

#include <algorithm>
#include <utility>

#include "runtime/core/error.h"

namespace qwen3c::vulkan {

const char* result_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_INVALID_SHADER_NV: return "VK_ERROR_INVALID_SHADER_NV";
    default: return "VkResult error";
  }
}

void check(VkResult result, const std::string& what) {
  if (result != VK_SUCCESS) {
    throw Error("Vulkan: " + what + " failed (" + result_name(result) + ")");
  }
}

namespace {

VkInstance create_instance() {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "qwen3c";
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pApplicationInfo = &app;
  VkInstance instance = VK_NULL_HANDLE;
  const VkResult r = vkCreateInstance(&info, nullptr, &instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED) {
    throw Error(std::string("no Vulkan driver: the loader found no installable client driver (") + result_name(r) +
                "); install one (mesa-vulkan-drivers has the CPU device lavapipe) or point VK_ICD_FILENAMES at one");
  }
  check(r, "creating an instance (Vulkan 1.1)");
  return instance;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
  std::uint32_t count = 0;
  check(vkEnumeratePhysicalDevices(instance, &count, nullptr), "listing devices");
  std::vector<VkPhysicalDevice> devices(count);
  check(vkEnumeratePhysicalDevices(instance, &count, devices.data()), "listing devices");
  devices.resize(count);
  return devices;
}

const char* kind_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
  }
}

int preference(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
  }
}

struct Probe {
  VkPhysicalDeviceProperties properties{};
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties maintenance3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceMemoryProperties memory{};
  std::int64_t compute_family = -1;
  std::uint32_t timestamp_bits = 0;  // of the compute family's queues (0: no timestamps)
  std::uint64_t device_local_bytes = 0;

  explicit Probe(VkPhysicalDevice device) {
    VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    p2.pNext = &subgroup;
    subgroup.pNext = &maintenance3;
    vkGetPhysicalDeviceProperties2(device, &p2);
    properties = p2.properties;
    vkGetPhysicalDeviceMemoryProperties(device, &memory);
    for (std::uint32_t h = 0; h < memory.memoryHeapCount; ++h) {
      if (memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) device_local_bytes += memory.memoryHeaps[h].size;
    }
    std::uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    vkGetPhysicalDeviceQueueFamilyProperties(device, &count, families.data());
    for (std::uint32_t f = 0; f < count; ++f) {
      if (families[f].queueFlags & VK_QUEUE_COMPUTE_BIT) {
        compute_family = f;
        timestamp_bits = families[f].timestampValidBits;
        break;
      }
    }
  }

  // Why the device cannot run q3 shaders, or "" when it can.
  std::string unusable() const {
    if (VK_API_VERSION_MINOR(properties.apiVersion) < 1 && VK_API_VERSION_MAJOR(properties.apiVersion) == 1) {
      return "it supports Vulkan 1.0 only (1.1 is needed)";
    }
    if (compute_family < 0) return "it has no compute queue";
    if (!(subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT)) return "its compute shaders have no subgroups";
    const VkSubgroupFeatureFlags need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    if ((subgroup.supportedOperations & need) != need) return "it lacks subgroup arithmetic";
    if (properties.limits.maxComputeWorkGroupInvocations < 64) return "its workgroups hold fewer than 64 invocations";
    return "";
  }
};

}  // namespace

std::vector<DeviceInfo> list_devices() {
  VkInstance instance = create_instance();
  std::vector<DeviceInfo> out;
  try {
    const auto devices = physical_devices(instance);
    for (std::size_t i = 0; i < devices.size(); ++i) {
      Probe p(devices[i]);
      DeviceInfo info;
      info.backend = "vulkan";
      info.index = static_cast<int>(i);
      info.name = p.properties.deviceName;
      info.kind = kind_name(p.properties.deviceType);
      info.memory_bytes = p.device_local_bytes;
      const std::uint32_t v = p.properties.apiVersion;
      info.details = "Vulkan " + std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
                     "." + std::to_string(VK_API_VERSION_PATCH(v)) + ", subgroup size " +
                     std::to_string(p.subgroup.subgroupSize) + ", max buffer range " +
                     std::to_string(p.properties.limits.maxStorageBufferRange >> 20) + " MiB";
      const std::string why = p.unusable();
      if (!why.empty()) info.details += "; unusable: " + why;
      out.push_back(std::move(info));
    }
  } catch (...) {
    vkDestroyInstance(instance, nullptr);
    throw;
  }
  vkDestroyInstance(instance, nullptr);
  return out;
}

Device::Device(int index) {
  instance_ = create_instance();
  try {
    const auto devices = physical_devices(instance_);
    if (devices.empty()) {
      throw Error("no Vulkan device: the loader found drivers but no devices (is the GPU visible to this process?)");
    }
    std::string tried;
    int chosen = -1;
    if (index >= 0) {
      if (index >= static_cast<int>(devices.size())) {
        throw Error("Vulkan device " + std::to_string(index) + " does not exist (there are " +
                    std::to_string(devices.size()) + "; see `qwen3c devices`)");
      }
      Probe p(devices[index]);
      if (const std::string why = p.unusable(); !why.empty()) {
        throw Error(std::string("Vulkan device ") + std::to_string(index) + " (" + p.properties.deviceName +
                    ") cannot run qwen3c: " + why);
      }
      chosen = index;
    } else {
      int best = 1 << 30;
      for (std::size_t i = 0; i < devices.size(); ++i) {
        Probe p(devices[i]);
        const std::string why = p.unusable();
        tried += std::string(tried.empty() ? "" : "; ") + p.properties.deviceName + (why.empty() ? ": usable" : ": " + why);
        if (why.empty() && preference(p.properties.deviceType) < best) {
          best = preference(p.properties.deviceType);
          chosen = static_cast<int>(i);
        }
      }
      if (chosen < 0) throw Error("no usable Vulkan device (tried " + tried + ")");
    }
    physical_ = devices[chosen];
    Probe p(physical_);
    properties_ = p.properties;
    memory_ = p.memory;
    max_allocation_ = p.maintenance3.maxMemoryAllocationSize;
    subgroup_size_ = p.subgroup.subgroupSize;
    name_ = properties_.deviceName;
    queue_family_ = static_cast<std::uint32_t>(p.compute_family);
    timestamp_bits_ = p.timestamp_bits;

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    queue.queueFamilyIndex = queue_family_;
    queue.queueCount = 1;
    queue.pQueuePriorities = &priority;
    // 16-bit storage (f16 / bf16 KV caches) where the device has it.
    VkPhysicalDevice16BitStorageFeatures storage16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    features.pNext = &storage16;
    vkGetPhysicalDeviceFeatures2(physical_, &features);
    storage_16bit_ = storage16.storageBuffer16BitAccess == VK_TRUE;
    VkPhysicalDevice16BitStorageFeatures enabled16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    enabled16.storageBuffer16BitAccess = storage16.storageBuffer16BitAccess;
    VkDeviceCreateInfo info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    info.pNext = &enabled16;
    info.queueCreateInfoCount = 1;
    info.pQueueCreateInfos = &queue;
    check(vkCreateDevice(physical_, &info, nullptr, &device_), "creating a device on " + name_);
    vkGetDeviceQueue(device_, queue_family_, 0, &queue_);
  } catch (...) {
    if (device_ != VK_NULL_HANDLE) vkDestroyDevice(device_, nullptr);
    vkDestroyInstance(instance_, nullptr);
    throw;
  }
}

Device::~Device() {
  vkDeviceWaitIdle(device_);
  vkDestroyDevice(device_, nullptr);
  vkDestroyInstance(instance_, nullptr);
}

std::uint32_t Device::memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags required,
                                  VkMemoryPropertyFlags preferred, const std::string& what) const {
  std::int64_t fallback = -1;
  for (std::uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const VkMemoryPropertyFlags flags = memory_.memoryTypes[i].propertyFlags;
    if ((flags & required) != required) continue;
    if ((flags & preferred) == preferred) return i;
    if (fallback < 0) fallback = i;
  }
  if (fallback < 0) throw Error("Vulkan device " + name_ + " has no memory type suitable for " + what);
  return static_cast<std::uint32_t>(fallback);
}

bool Device::host_visible(std::uint32_t type) const {
  return (memory_.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
}

namespace {
std::string human(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GiB", static_cast<double>(bytes) / (1u << 30));
  return bytes >= (1u << 30) ? text : std::to_string(bytes >> 20) + " MiB";
}
}  // namespace

Buffer::Buffer(std::shared_ptr<Device> device, std::uint64_t size, Memory memory, const std::string& what)
    // Whole 16-byte words: shaders read 32-bit words, and a q8_0 / q4_0 tensor's last
    // half-word may end in the middle of one (a read past the buffer's range is undefined).
    : device_(std::move(device)), size_(std::max<std::uint64_t>((size + 15) / 16 * 16, 16)), what_(what) {
  const VkDevice d = device_->get();
  if (device_->max_allocation() != 0 && size_ > device_->max_allocation()) {
    throw Error(what + " needs " + human(size_) + ", more than one allocation may hold on " + device_->name() +
                " (maxMemoryAllocationSize " + human(device_->max_allocation()) + ")");
  }
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = size_;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
               VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(d, &info, nullptr, &buffer_), "creating a buffer for " + what);
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(d, buffer_, &req);
  const std::uint32_t type =
      memory == Memory::DeviceLocal
          ? device_->memory_type(req.memoryTypeBits, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, what)
          : device_->memory_type(req.memoryTypeBits,
                                 VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                 VK_MEMORY_PROPERTY_HOST_CACHED_BIT, what);
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = type;
  const VkResult r = vkAllocateMemory(d, &alloc, nullptr, &memory_);
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
    release();
    throw Error("out of " + std::string(r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? "device" : "host") +
                " memory allocating " + human(req.size) + " for " + what + " on " + device_->name());
  }
  if (r != VK_SUCCESS) release();
  check(r, "allocating memory for " + what);
  check(vkBindBufferMemory(d, buffer_, memory_, 0), "binding memory for " + what);
  if (device_->host_visible(type)) check(vkMapMemory(d, memory_, 0, VK_WHOLE_SIZE, 0, &mapped_), "mapping " + what);
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    device_ = std::move(other.device_);
    buffer_ = std::exchange(other.buffer_, VK_NULL_HANDLE);
    memory_ = std::exchange(other.memory_, VK_NULL_HANDLE);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, nullptr);
    what_ = std::move(other.what_);
  }
  return *this;
}

Buffer::~Buffer() { release(); }

void Buffer::release() {
  if (!device_) return;
  if (buffer_ != VK_NULL_HANDLE) vkDestroyBuffer(device_->get(), buffer_, nullptr);
  if (memory_ != VK_NULL_HANDLE) vkFreeMemory(device_->get(), memory_, nullptr);
  buffer_ = VK_NULL_HANDLE;
  memory_ = VK_NULL_HANDLE;
  mapped_ = nullptr;
}

}  // namespace qwen3c::vulkan
