#pragma once
// The one exception type qwen3c throws for bad input. Its message is shown to the user
// as is, so it names the file and the field or tensor at fault.

#include <stdexcept>
#include <string>

namespace qwen3c {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace qwen3c
