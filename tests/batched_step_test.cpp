// Batched steps over several sequences: sequences of different lengths run together in
// one Session (joining and leaving mid-way, prompts fed in chunks that share steps with
// decoding sequences, a freed slot taken again) give the same greedy tokens as each run
// alone, and logits within 1e-4 (relative) of each alone, on every backend.

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

#include "runtime/core/error.h"
#include "runtime/core/kv_type_names.h"
#include "runtime/execution/session.h"
#include "tests/compile_for_test.h"
#include "tests/golden.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using namespace qwen3c::testing;

// A request: its prompt, how many tokens it decodes, and the step it arrives at.
struct Request {
  std::vector<std::int64_t> prompt;
  int decode_steps;
  int arrives;
};

// What one sequence produced: the logits after its prompt and after each decoded token,
// and the greedy tokens.
struct Trace {
  std::vector<std::vector<float>> logits;
  std::vector<std::int64_t> tokens;
};

std::int64_t argmax(const std::vector<float>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); }

Trace run_alone(const std::shared_ptr<Model>& model, const Request& r, KvType kv_type) {
  Session s(model, 128, 1, kv_type);
  Trace t;
  t.logits.push_back(s.forward(r.prompt));
  for (int i = 0; i < r.decode_steps; ++i) {
    t.tokens.push_back(argmax(t.logits.back()));
    const std::int64_t id = t.tokens.back();
    t.logits.push_back(s.forward(std::span<const std::int64_t>(&id, 1)));
  }
  return t;
}

// Every request through one session of `slots` sequences: each step feeds every active
// sequence its next prompt chunk (at most `chunk` tokens) or its last greedy token.
std::vector<Trace> run_batched(const std::shared_ptr<Model>& model, const std::vector<Request>& requests, int slots,
                               std::size_t chunk, KvType kv_type) {
  Session s(model, 128, slots, kv_type);
  struct Active {
    std::size_t request;
    std::int64_t slot;
    std::vector<std::int64_t> pending;
  };
  std::vector<Trace> traces(requests.size());
  std::vector<Active> active;
  std::deque<std::size_t> waiting;
  std::vector<bool> slot_busy(static_cast<std::size_t>(slots), false);
  std::size_t finished = 0;
  std::vector<float> logits;  // one buffer for every step, as the server's scheduler keeps it
  for (int step = 0; finished < requests.size(); ++step) {
    EXPECT_LT(step, 1000) << "the schedule does not finish";
    if (step >= 1000) break;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (requests[i].arrives == step) waiting.push_back(i);
    }
    for (std::int64_t slot = 0; slot < slots && !waiting.empty(); ++slot) {
      if (slot_busy[static_cast<std::size_t>(slot)]) continue;
      slot_busy[static_cast<std::size_t>(slot)] = true;
      s.truncate(0, slot);  // a freed slot starts over
      active.push_back({waiting.front(), slot, requests[waiting.front()].prompt});
      waiting.pop_front();
    }
    if (active.empty()) continue;
    std::vector<Session::Chunk> chunks;
    for (const Active& a : active) {
      const std::size_t n = std::min(a.pending.size(), chunk);
      chunks.push_back({a.slot, std::span<const std::int64_t>(a.pending.data(), n), n == a.pending.size()});
    }
    s.forward_batch(chunks, logits);
    const auto vocab = static_cast<std::size_t>(model->config().vocab_size);
    std::size_t row = 0;
    for (std::size_t i = 0; i < active.size(); ++i) {
      Active& a = active[i];
      a.pending.erase(a.pending.begin(), a.pending.begin() + static_cast<std::ptrdiff_t>(chunks[i].ids.size()));
      if (!chunks[i].logits) continue;
      Trace& t = traces[a.request];
      t.logits.emplace_back(logits.begin() + static_cast<std::ptrdiff_t>(row * vocab),
                            logits.begin() + static_cast<std::ptrdiff_t>((row + 1) * vocab));
      ++row;
      if (static_cast<int>(t.tokens.size()) == requests[a.request].decode_steps) {
        a.pending.clear();  // done: leaves below
        continue;
      }
      t.tokens.push_back(argmax(t.logits.back()));
      a.pending.assign(1, t.tokens.back());
    }
    EXPECT_EQ(row * vocab, logits.size());
    for (std::size_t i = active.size(); i-- > 0;) {
      if (!active[i].pending.empty()) continue;
      slot_busy[static_cast<std::size_t>(active[i].slot)] = false;
      active.erase(active.begin() + static_cast<std::ptrdiff_t>(i));
      ++finished;
    }
  }
  return traces;
}

std::vector<std::int64_t> prompt(std::size_t length, std::int64_t seed, std::int64_t vocab) {
  std::vector<std::int64_t> p(length);
  for (std::size_t i = 0; i < length; ++i) p[i] = (seed * 131 + static_cast<std::int64_t>(i) * 37 + 5) % vocab;
  return p;
}

// "target/quant/precision[/kv type]" of the artifact and session (the cache f16 unless
// named), and the fixture it is compiled from.
class BatchedStep : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchedStep, SequencesTogetherMatchEachAlone) {
  std::vector<std::string> fields;
  for (std::string rest = GetParam();;) {
    fields.push_back(rest.substr(0, rest.find('/')));
    if (rest.find('/') == std::string::npos) break;
    rest = rest.substr(rest.find('/') + 1);
  }
  ASSERT_GE(fields.size(), 3u);
  const std::string target = fields[0], quant = fields[1], precision = fields[2];
  // A q8_0 cache under the fast precision scores by int8 dot products: a prompt tile and a
  // decoding tile must still give a row the same scores.
  const KvType kv_type = fields.size() > 3 ? parse_kv_type(fields[3]).value() : KvType::F16;
  const std::string fixture = quant == "q4_0" ? "models/qwen3-hd128" : "models/qwen3-small";
  TempDir dir;
  const std::string path = dir.file("model.q3c");
  compile_for_test(test_data(fixture), path, target_options(target, quant, 2, precision));
  std::shared_ptr<Model> model;
  try {
    model = Model::load(path);
  } catch (const Error& e) {
    if (target == "vulkan") GTEST_SKIP() << "no Vulkan device: " << e.what();
    throw;
  }
  const std::int64_t vocab = model->config().vocab_size;
  // Three slots for five requests: the fourth and fifth wait for a slot to free up; the
  // 40-token prompts are fed in chunks of 16 while the others decode.
  const std::vector<Request> requests = {
      {prompt(5, 1, vocab), 9, 0},  {prompt(23, 2, vocab), 14, 0}, {prompt(9, 3, vocab), 3, 2},
      {prompt(40, 4, vocab), 8, 3}, {prompt(17, 5, vocab), 6, 4},
  };
  const std::vector<Trace> together = run_batched(model, requests, 3, 16, kv_type);
  ASSERT_EQ(together.size(), requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const Trace alone = run_alone(model, requests[i], kv_type);
    EXPECT_EQ(together[i].tokens, alone.tokens) << "request " << i;
    ASSERT_EQ(together[i].logits.size(), alone.logits.size()) << "request " << i;
    double worst = 0;
    for (std::size_t s = 0; s < alone.logits.size(); ++s) {
      worst = std::max(worst, relative_error(together[i].logits[s].data(), alone.logits[s].data(),
                                             alone.logits[s].size()));
    }
    EXPECT_LE(worst, 1e-4) << "request " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BatchedStep,
                         ::testing::Values("cpu/bf16/f32", "cpu/q8_0/fast", "cpu/q4_0/fast", "cpu/q4_0/fast/q8_0",
                                           "portable/bf16/f32", "vulkan/bf16/f32"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) c = c == '/' ? '_' : c;
                           return name;
                         });

// The batched step's checks: each rejects the whole step and changes nothing.
TEST(BatchedStepErrors, BadChunksAreRefusedAndChangeNothing) {
  TempDir dir;
  const std::string path = dir.file("model.q3c");
  compile_for_test(test_data("models/qwen3-small"), path);
  auto model = Model::load(path);
  Session s(model, 16, 2);
  const std::vector<std::int64_t> ids = {1, 2, 3};
  const std::vector<std::int64_t> long_ids(17, 4);
  const std::vector<std::int64_t> bad_id = {1, 1 << 20};
  auto refused = [&](std::vector<Session::Chunk> chunks, const std::string& says) {
    try {
      s.forward_batch(chunks);
      ADD_FAILURE() << "accepted; expected: " << says;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
    EXPECT_EQ(s.position(0), 0);
    EXPECT_EQ(s.position(1), 0);
  };
  refused({}, "at least one sequence");
  refused({{0, ids}, {2, ids}}, "sequence 2 does not exist");
  refused({{1, ids}, {1, ids}}, "appears twice");
  refused({{0, ids}, {1, bad_id}}, "outside the vocabulary");
  refused({{0, ids}, {1, long_ids}}, "context full");
  refused({{0, ids}, {1, {}}}, "at least one token");
  EXPECT_THROW(Session(model, 16, 0), Error);
  EXPECT_THROW(s.truncate(0, 5), Error);
  // A chunk that asks for no logits still advances its sequence.
  EXPECT_TRUE(s.forward_batch(std::vector<Session::Chunk>{{1, ids, false}}).empty());
  EXPECT_EQ(s.position(1), 3);
  // So does it into a kept buffer, which it leaves holding no rows.
  std::vector<float> kept(7, 1.0f);
  s.forward_batch(std::vector<Session::Chunk>{{1, ids, false}}, kept);
  EXPECT_TRUE(kept.empty());
  EXPECT_EQ(s.position(1), 6);
}

// A KV cache that cannot fit in this machine's memory is refused when the session is made,
// with its size named, not left to grow until the kernel kills the process.
TEST(BatchedStepErrors, ACacheThatCannotFitIsRefusedUpFront) {
  TempDir dir;
  nlohmann::json config = tiny_config();
  config["head_dim"] = 256;  // 4 KiB of keys and values a position
  config["max_position_embeddings"] = 1 << 20;
  write_model(dir.path() / "model", config, tiny_tensors(config));
  for (const std::string target : {"cpu", "portable"}) {
    const std::string path = dir.file(target + ".q3c");
    compile_for_test((dir.path() / "model").string(), path, target_options(target));
    auto model = Model::load(path);
    try {
      Session s(model, 1 << 20, 256);  // 1 TiB
      ADD_FAILURE() << target << ": a 1 TiB cache was accepted";
    } catch (const Error& e) {
      const std::string said = e.what();
      EXPECT_NE(said.find("KV cache of 256 sequences x 1048576 positions (4096 bytes a position"), std::string::npos)
          << said;
      EXPECT_NE(said.find("1024.0 GiB, more than the"), std::string::npos) << said;
    }
    Session fits(model, 64, 2);  // a small one still works
    EXPECT_EQ(fits.forward(std::vector<std::int64_t>{1, 2}).size(), 16u);
  }
}

}  // namespace
}  // namespace qwen3c
