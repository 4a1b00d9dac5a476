// qwen3c eval ART --ids 1,2,3 --steps N --out FILE.safetensors
//
// Prefills the ids, then decodes N greedy steps, and writes what the reference fixtures
// hold: prefill.logits [T,V] f32, greedy.tokens [N] i64 (token s is the argmax of the
// logits before it), greedy.step_logits [N,V] f32 (logits after feeding token s).

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <memory>

#include "frontend/safetensors_writer.h"
#include "runtime/core/error.h"
#include "runtime/core/kv_type_names.h"
#include "runtime/execution/session.h"
#include "tools/commands/commands.h"
#include "tools/commands/validators.h"
#include "tools/commands/format.h"

namespace qwen3c::cli {

namespace {

struct EvalOptions {
  std::string artifact;
  int device = -1;
  std::vector<std::int64_t> ids;
  std::int64_t steps = 0;
  std::string out;
  std::string kv_type = "f32";  // eval is for comparing against references: exact by default
};

// eval keeps every logit in memory and writes them at the end: bounded, so a mistyped
// --steps fails at once instead of filling memory.
constexpr std::int64_t kMaxEvalOutputBytes = std::int64_t{4} << 30;

std::int64_t argmax(const float* logits, std::int64_t n) {
  return std::max_element(logits, logits + n) - logits;  // first maximum, as torch.argmax
}

template <class T>
std::span<const std::uint8_t> bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * sizeof(T)};
}

void run_eval(const EvalOptions& opts) {
  if (opts.ids.empty()) throw Error("eval: --ids needs at least one token id");
  if (opts.out == "-") throw Error("eval: --out - : the logits are binary safetensors; name a file");
  auto model = Model::load(opts.artifact, ExecutorOptions{opts.device});
  const std::int64_t vocab = model->config().vocab_size;
  const auto prompt = static_cast<std::int64_t>(opts.ids.size());
  // Everything that can fail is checked before the first step: a run that would only fail
  // after minutes, or after filling memory with logits, fails now.
  for (std::int64_t id : opts.ids) {
    if (id < 0 || id >= vocab) {
      throw Error("eval: token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                  std::to_string(vocab - 1) + ")");
    }
  }
  const std::int64_t context = model->config().max_position_embeddings;
  if (prompt + opts.steps > context) {
    throw Error("eval: " + std::to_string(prompt) + " ids and " + std::to_string(opts.steps) +
                " steps need " + std::to_string(prompt + opts.steps) + " positions; the model has " +
                std::to_string(context));
  }
  const std::int64_t output_bytes = (prompt + opts.steps) * vocab * static_cast<std::int64_t>(sizeof(float));
  if (output_bytes > kMaxEvalOutputBytes) {
    throw Error("eval: the logits of " + std::to_string(prompt + opts.steps) + " positions would be " +
                human_bytes(output_bytes) + ", more than the limit of " + human_bytes(kMaxEvalOutputBytes) +
                " (fewer ids or steps)");
  }
  Session session(model, std::min(prompt + opts.steps, model->config().max_position_embeddings), 1,
                  *parse_kv_type(opts.kv_type));

  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  std::vector<float> prefill = session.forward(opts.ids, /*all_logits=*/true);
  const auto t1 = Clock::now();
  std::vector<std::int64_t> tokens;
  std::vector<float> step_logits;
  std::int64_t next = argmax(prefill.data() + (prompt - 1) * vocab, vocab);
  for (std::int64_t s = 0; s < opts.steps; ++s) {
    tokens.push_back(next);
    const std::int64_t id = next;
    std::vector<float> logits = session.forward(std::span<const std::int64_t>(&id, 1));
    step_logits.insert(step_logits.end(), logits.begin(), logits.end());
    next = argmax(logits.data(), vocab);
  }
  const auto t2 = Clock::now();
  write_safetensors_file(opts.out, {
      {"prefill.logits", DType::F32, {prompt, vocab}, bytes_of(prefill)},
      {"greedy.tokens", DType::I64, {opts.steps}, bytes_of(tokens)},
      {"greedy.step_logits", DType::F32, {opts.steps, vocab}, bytes_of(step_logits)},
  });
  const double prefill_s = std::chrono::duration<double>(t1 - t0).count();
  const double decode_s = std::chrono::duration<double>(t2 - t1).count();
  std::cerr << std::fixed << std::setprecision(2) << "eval: " << prompt << " prompt tokens ("
            << prompt / prefill_s << " tokens/s), " << opts.steps << " greedy steps";
  if (opts.steps > 0) std::cerr << " (" << opts.steps / decode_s << " tokens/s)";
  std::cerr << ", written to " << opts.out << "\n";
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto opts = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Prefill token ids, decode greedily, and write the logits (for correctness checks)");
  cmd->add_option("artifact", opts->artifact, "Compiled model (.q3c)")->required();
  add_device_option(cmd, opts->device);
  cmd->add_option("--ids", opts->ids, "Prompt token ids, comma separated")->required()->delimiter(',')->check(token_id());
  cmd->add_option("--steps", opts->steps, "Greedy decoding steps after the prompt")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 20));
  cmd->add_option("--out", opts->out, "Output safetensors file")->required();
  cmd->add_option("--kv-type", opts->kv_type, "KV cache storage: f32 (default: exact), f16, bf16 or q8_0")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}));
  cmd->callback([opts] { run_eval(*opts); });
}

}  // namespace qwen3c::cli
