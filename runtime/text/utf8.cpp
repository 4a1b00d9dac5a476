#include "runtime/text/utf8.h"

namespace qwen3c {

namespace {

// Length of the valid sequence starting at s[i], or 0 when it is invalid. For an invalid
// one, `*subpart` is the length of its maximal subpart (the lead byte and the continuation
// bytes that were still acceptable, at least 1) and `*incomplete` says whether the input
// ended inside a sequence that was valid so far.
std::size_t sequence_length(std::string_view s, std::size_t i, bool* incomplete,
                            std::size_t* subpart = nullptr) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  *incomplete = false;
  if (subpart) *subpart = 1;
  if (b0 < 0x80) return 1;
  std::size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) need = 2;
  else if (b0 == 0xE0) need = 3, lo = 0xA0;
  else if (b0 >= 0xE1 && b0 <= 0xEC) need = 3;
  else if (b0 == 0xED) need = 3, hi = 0x9F;
  else if (b0 >= 0xEE && b0 <= 0xEF) need = 3;
  else if (b0 == 0xF0) need = 4, lo = 0x90;
  else if (b0 >= 0xF1 && b0 <= 0xF3) need = 4;
  else if (b0 == 0xF4) need = 4, hi = 0x8F;
  else return 0;
  for (std::size_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) {
      *incomplete = true;
      if (subpart) *subpart = k;
      return 0;
    }
    const auto b = static_cast<unsigned char>(s[i + k]);
    const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) {
      if (subpart) *subpart = k;
      return 0;
    }
  }
  return need;
}

}  // namespace

std::optional<std::size_t> find_invalid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    bool incomplete;
    const std::size_t n = sequence_length(text, i, &incomplete);
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    bool incomplete;
    const std::size_t n = sequence_length(bytes, i, &incomplete);
    if (n > 0) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      std::size_t subpart;
      sequence_length(bytes, i, &incomplete, &subpart);
      i += subpart;
    }
  }
  return out;
}

std::size_t utf8_complete_prefix(std::string_view bytes) {
  // Only the last three bytes can start an unfinished sequence.
  const std::size_t from = bytes.size() > 3 ? bytes.size() - 3 : 0;
  for (std::size_t i = from; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0xC0) continue;  // not a lead byte
    bool incomplete;
    sequence_length(bytes, i, &incomplete);
    if (incomplete) return i;
  }
  return bytes.size();
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

}  // namespace qwen3c
