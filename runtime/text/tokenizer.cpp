#include "runtime/text/tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/artifact/artifact.h"
#include "runtime/artifact/artifact_format.h"
#include "runtime/text/byte_level.h"
#include "runtime/core/error.h"
#include "runtime/core/input_file.h"
#include "runtime/core/mapped_file.h"
#include "runtime/text/utf8.h"

namespace qwen3c {

namespace {

using nlohmann::json;
constexpr std::int64_t kMaxTokenId = 1 << 22;

// Bytes a byte-level token string stands for; nullopt if it uses characters outside the
// byte-level alphabet.
std::optional<std::string> byte_level_to_bytes(std::string_view token) {
  std::string out;
  const auto& alphabet = byte_level_alphabet();
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(token.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(token.size());
  while (left > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) return std::nullopt;
    int b = alphabet.decode(static_cast<char32_t>(cp));
    if (b < 0) return std::nullopt;
    out += static_cast<char>(b);
    p += n;
    left -= n;
  }
  return out;
}

std::string nfc(std::string_view text) {
  utf8proc_uint8_t* result = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                    static_cast<utf8proc_ssize_t>(text.size()), &result,
                                    static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) throw Error(std::string("cannot normalise text: ") + utf8proc_errmsg(n));
  std::string out(reinterpret_cast<char*>(result), static_cast<std::size_t>(n));
  std::free(result);
  return out;
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// The Split pre-tokenizer's regex, from either a plain pre_tokenizer or a Sequence.
std::string split_pattern(const json& pre, const std::string& source) {
  auto from_split = [&](const json& p) -> std::optional<std::string> {
    if (p.value("type", "") != "Split") return std::nullopt;
    if (p.value("behavior", "") != "Isolated" || p.value("invert", false)) {
      throw Error(source + ": unsupported Split pre-tokenizer behaviour");
    }
    const json& pattern = p.at("pattern");
    if (pattern.contains("Regex")) return pattern["Regex"].get<std::string>();
    throw Error(source + ": unsupported Split pattern (expected a Regex)");
  };
  if (pre.is_object() && pre.value("type", "") == "Sequence") {
    for (const json& p : pre.at("pretokenizers")) {
      if (auto s = from_split(p)) return *s;
    }
  } else if (pre.is_object()) {
    if (auto s = from_split(pre)) return *s;
  }
  throw Error(source + ": pre_tokenizer has no Split regex (only byte-level BPE with a split regex is supported)");
}

}  // namespace

Tokenizer Tokenizer::from_json(std::string_view text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(source + ": invalid JSON: " + e.what());
  }
  Tokenizer t;
  try {
    const json& model = j.at("model");
    if (model.value("type", "") != "BPE") throw Error(source + ": model type must be BPE");
    t.nfc_ = j.contains("normalizer") && j["normalizer"].is_object() && j["normalizer"].value("type", "") == "NFC";
    if (j.contains("normalizer") && !j["normalizer"].is_null() && !t.nfc_) {
      throw Error(source + ": unsupported normalizer (only NFC or none)");
    }
    t.split_ = std::make_unique<SplitRegex>(split_pattern(j.at("pre_tokenizer"), source));

    std::int64_t max_id = -1;
    for (const auto& [token, id] : model.at("vocab").items()) {
      if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() >= kMaxTokenId) {
        throw Error(source + ": vocab entry '" + token + "' has a bad id");
      }
      t.vocab_[token] = id.get<std::int64_t>();
      max_id = std::max(max_id, id.get<std::int64_t>());
    }
    for (const json& a : j.value("added_tokens", json::array())) max_id = std::max(max_id, a.at("id").get<std::int64_t>());
    if (max_id >= kMaxTokenId) throw Error(source + ": token id out of range");
    t.bytes_.assign(static_cast<std::size_t>(max_id + 1), std::string());
    t.special_.assign(static_cast<std::size_t>(max_id + 1), false);
    for (const auto& [token, id] : t.vocab_) {
      auto bytes = byte_level_to_bytes(token);
      if (!bytes) throw Error(source + ": vocab token '" + token + "' is not byte-level");
      t.bytes_[static_cast<std::size_t>(id)] = *bytes;
    }
    for (const json& a : j.value("added_tokens", json::array())) {
      const auto id = a.at("id").get<std::int64_t>();
      const auto content = a.at("content").get<std::string>();
      if (id < 0 || content.empty()) throw Error(source + ": bad added token");
      t.bytes_[static_cast<std::size_t>(id)] = content;
      t.special_[static_cast<std::size_t>(id)] = a.value("special", false);
      t.added_.push_back({content, id});
      t.added_first_byte_[static_cast<unsigned char>(content[0])] = true;
    }
    std::sort(t.added_.begin(), t.added_.end(),
              [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });

    std::vector<std::int32_t> byte_tokens(256);
    for (int b = 0; b < 256; ++b) {
      auto it = t.vocab_.find(byte_level_alphabet().encode(static_cast<std::uint8_t>(b)));
      if (it == t.vocab_.end()) throw Error(source + ": vocab lacks the token for byte " + std::to_string(b));
      byte_tokens[b] = static_cast<std::int32_t>(it->second);
    }
    std::vector<BpeModel::Merge> merges;
    const json& merge_list = model.at("merges");
    merges.reserve(merge_list.size());
    for (const json& m : merge_list) {
      std::string left, right;
      if (m.is_array() && m.size() == 2) {
        left = m[0].get<std::string>();
        right = m[1].get<std::string>();
      } else if (m.is_string()) {
        const std::string& s = m.get_ref<const std::string&>();
        const auto space = s.find(' ');
        if (space == std::string::npos) throw Error(source + ": malformed merge '" + s + "'");
        left = s.substr(0, space);
        right = s.substr(space + 1);
      } else {
        throw Error(source + ": malformed merge entry");
      }
      auto l = t.vocab_.find(left), r = t.vocab_.find(right), merged = t.vocab_.find(left + right);
      if (l == t.vocab_.end() || r == t.vocab_.end() || merged == t.vocab_.end()) {
        throw Error(source + ": merge '" + left + " " + right + "' uses tokens outside the vocabulary");
      }
      merges.push_back({static_cast<std::int32_t>(l->second), static_cast<std::int32_t>(r->second),
                        static_cast<std::int32_t>(merged->second)});
    }
    t.bpe_ = std::make_unique<BpeModel>(std::move(byte_tokens), merges);
  } catch (const json::exception& e) {
    throw Error(source + ": unexpected tokenizer.json layout: " + e.what());
  }
  return t;
}

Tokenizer Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  if (is_directory_path(path)) {
    const fs::path file = fs::path(path) / "tokenizer.json";
    if (!path_exists(file)) throw Error(path + ": no tokenizer.json in the model folder");
    return load(file.string());
  }
  MappedFile file(path);
  std::string_view bytes(reinterpret_cast<const char*>(file.data()), file.size());
  if (bytes.size() >= sizeof kArtifactMagic &&
      std::equal(kArtifactMagic, kArtifactMagic + sizeof kArtifactMagic, bytes.data())) {
    Artifact artifact = Artifact::open(path);
    const json& m = artifact.manifest();
    if (!m.contains("tokenizer") || !m["tokenizer"].contains("tokenizer.json")) {
      throw Error(path + ": the artifact embeds no tokenizer (compile from a model folder with tokenizer.json)");
    }
    auto blob = artifact.read_blob(artifact.range_from_json(m["tokenizer"]["tokenizer.json"], "tokenizer"), "tokenizer");
    return from_json(std::string_view(reinterpret_cast<const char*>(blob.data()), blob.size()), path);
  }
  return from_json(bytes, path);
}

void Tokenizer::encode_segment(std::string_view text, std::vector<std::int64_t>& out) const {
  if (text.empty()) return;
  const std::string normalised = nfc_ && !is_ascii(text) ? nfc(text) : std::string(text);
  std::vector<std::string_view> pieces;
  split_->split_into(normalised, pieces);
  for (std::string_view piece : pieces) encode_piece(piece, out);
}

void Tokenizer::encode_piece(std::string_view piece, std::vector<std::int64_t>& out) const {
  if (piece.size() > kCachedPieceBytes) {
    bpe_->encode_word(piece, out);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(absl::string_view(piece.data(), piece.size()));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const std::size_t start = out.size();
  bpe_->encode_word(piece, out);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kCacheEntries) cache_.clear();
  cache_.emplace(std::string(piece), std::vector<std::int64_t>(out.begin() + static_cast<std::ptrdiff_t>(start), out.end()));
}

Tokenizer::Tokenizer(Tokenizer&& other) noexcept
    : bpe_(std::move(other.bpe_)),
      split_(std::move(other.split_)),
      bytes_(std::move(other.bytes_)),
      special_(std::move(other.special_)),
      vocab_(std::move(other.vocab_)),
      added_(std::move(other.added_)),
      added_first_byte_(other.added_first_byte_),
      nfc_(other.nfc_) {}

std::vector<std::int64_t> Tokenizer::encode(std::string_view text) const {
  if (text.size() > kMaxEncodeBytes) {
    throw Error("text is " + std::to_string(text.size()) + " bytes; the tokenizer takes at most " +
                std::to_string(kMaxEncodeBytes >> 20) + " MiB at a time (it needs about 50 bytes of memory a byte)");
  }
  if (auto bad = find_invalid_utf8(text)) {
    throw Error("text is not valid UTF-8 (invalid byte sequence at offset " + std::to_string(*bad) + ")");
  }
  std::vector<std::int64_t> ids;
  std::size_t segment = 0;  // start of text not yet encoded
  for (std::size_t i = 0; i < text.size();) {
    const AddedToken* found = nullptr;
    if (!added_first_byte_[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    for (const AddedToken& a : added_) {
      if (a.content[0] == text[i] && text.compare(i, a.content.size(), a.content) == 0) {
        found = &a;
        break;  // longest first
      }
    }
    if (found == nullptr) {
      ++i;
      continue;
    }
    encode_segment(text.substr(segment, i - segment), ids);
    ids.push_back(found->id);
    i += found->content.size();
    segment = i;
  }
  encode_segment(text.substr(segment), ids);
  return ids;
}

void Tokenizer::check_id(std::int64_t id) const {
  if (!can_decode(id)) {
    throw Error("token id " + std::to_string(id) + " is not in the vocabulary (0.." + std::to_string(size() - 1) + ")");
  }
}

const std::string& Tokenizer::token_bytes(std::int64_t id) const {
  check_id(id);
  return bytes_[static_cast<std::size_t>(id)];
}

std::string Tokenizer::decode(std::span<const std::int64_t> ids) const {
  std::string bytes;
  for (std::int64_t id : ids) bytes += token_bytes(id);
  return utf8_lossy(bytes);
}

std::optional<std::int64_t> Tokenizer::token_id(std::string_view token) const {
  for (const AddedToken& a : added_) {
    if (a.content == token) return a.id;
  }
  auto it = vocab_.find(absl::string_view(token.data(), token.size()));
  if (it != vocab_.end()) return it->second;
  return std::nullopt;
}

bool Tokenizer::is_special(std::int64_t id) const {
  return id >= 0 && id < size() && special_[static_cast<std::size_t>(id)];
}

std::string StreamingDecoder::push(std::int64_t id) {
  pending_ += tokenizer_.token_bytes(id);
  const std::size_t complete = utf8_complete_prefix(pending_);
  std::string out = utf8_lossy(std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return out;
}

std::string StreamingDecoder::flush() {
  std::string out = utf8_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace qwen3c
