#include "runtime/text/split_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstdint>

#include "runtime/core/error.h"

namespace qwen3c {

struct SplitRegex::Impl {
  pcre2_code* code = nullptr;
  pcre2_jit_stack* stack = nullptr;
  ~Impl() {
    if (stack) pcre2_jit_stack_free(stack);
    if (code) pcre2_code_free(code);
  }
};

SplitRegex::SplitRegex(const std::string& pattern) : impl_(std::make_unique<Impl>()) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &offset, nullptr);
  if (impl_->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw Error("tokenizer split regex does not compile at offset " + std::to_string(offset) + ": " +
                reinterpret_cast<char*>(message));
  }
  if (pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0) {
    // Long runs of spaces backtrack deeply: give the JIT room.
    impl_->stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr);
  }
}

SplitRegex::~SplitRegex() = default;
SplitRegex::SplitRegex(SplitRegex&&) noexcept = default;
SplitRegex& SplitRegex::operator=(SplitRegex&&) noexcept = default;

void SplitRegex::split_into(std::string_view text, std::vector<std::string_view>& pieces) const {
  pcre2_match_data* match = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  if (impl_->stack) pcre2_jit_stack_assign(context, nullptr, impl_->stack);
  // PCRE2's default match limit (10 million steps) is reached by a legitimate linear scan:
  // on a run of ten million spaces, `\s*[\r\n]+` walks the run before `\s+(?!\S)` takes
  // it. Allow work in proportion to the text (Tokenizer::encode bounds its size).
  const std::uint64_t steps = std::max<std::uint64_t>(10'000'000, 16 * static_cast<std::uint64_t>(text.size()));
  pcre2_set_match_limit(context, static_cast<std::uint32_t>(std::min<std::uint64_t>(steps, UINT32_MAX)));
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t position = 0, emitted = 0;
  while (position < text.size()) {
    int rc = pcre2_match(impl_->code, subject, text.size(), position, PCRE2_NO_UTF_CHECK, match, context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_context_free(context);
      pcre2_match_data_free(match);
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      throw Error("tokenizer: the split regex failed at byte " + std::to_string(position) + " (PCRE2: " +
                  reinterpret_cast<char*>(message) + ")");
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match);
    std::size_t start = ovector[0], end = ovector[1];
    if (start > emitted) pieces.push_back(text.substr(emitted, start - emitted));
    emitted = start;
    if (end == start) {
      // An empty match: step over one whole character.
      ++end;
      while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
      position = end;
      continue;
    }
    pieces.push_back(text.substr(start, end - start));
    emitted = position = end;
  }
  if (emitted < text.size()) pieces.push_back(text.substr(emitted));
  pcre2_match_context_free(context);
  pcre2_match_data_free(match);
}

}  // namespace qwen3c
