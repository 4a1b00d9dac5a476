// qwen3c run ART -p TEXT [-n N] [sampling flags] [--chat]: generate, streaming to stdout;
// prefill and decode speed on stderr at the end.

#include <iomanip>
#include <iostream>
#include <memory>

#include "runtime/text/chat_format.h"
#include "runtime/core/error.h"
#include "runtime/generation/generator.h"
#include "runtime/execution/session.h"
#include "runtime/text/tokenizer.h"
#include "tools/commands/commands.h"
#include "tools/commands/generation_flags.h"

namespace qwen3c::cli {

namespace {

struct RunOptions {
  std::string artifact;
  int device = -1;
  std::string prompt;
  bool chat = false;
  bool no_think = false;
  std::string system;
  GenerationFlags flags;
};

const char* stop_reason(GenerationResult::Stop stop) {
  switch (stop) {
    case GenerationResult::Stop::EndOfTurn: return "end of turn";
    case GenerationResult::Stop::StopString: return "stop string";
    case GenerationResult::Stop::MaxTokens: return "token limit";
    case GenerationResult::Stop::ContextFull: return "context full";
  }
  return "?";
}

void run_run(RunOptions opts) {
  if (opts.flags.greedy) opts.flags.generation.sampling.temperature = 0;
  auto model = Model::load(opts.artifact, ExecutorOptions{opts.device});
  Tokenizer tokenizer = Tokenizer::load(opts.artifact);
  std::string text = opts.prompt;
  if (opts.chat) {
    std::vector<ChatMessage> messages;
    if (!opts.system.empty()) messages.push_back({"system", opts.system, std::nullopt, {}});
    messages.push_back({"user", opts.prompt, std::nullopt, {}});
    text = render_chat(messages, {true, !opts.no_think, {}});
  }
  const std::vector<std::int64_t> prompt = tokenizer.encode(text);
  Session session(model, std::min(opts.flags.context, model->config().max_position_embeddings), 1,
                  resolve_kv_type(opts.flags.kv_type, *model));
  Generator generator(session, tokenizer);
  GenerationResult r = generator.generate(prompt, opts.flags.generation, [](std::string_view piece) {
    std::cout << piece;
    std::cout.flush();
  });
  std::cout << "\n";
  const double decode_rate = r.tokens.size() > 1 ? (r.tokens.size() - 1) / r.decode_seconds : 0;
  std::cerr << std::fixed << std::setprecision(2) << "[" << r.prompt_tokens << " prompt tokens, "
            << r.prompt_tokens / r.prefill_seconds << " tokens/s prefill; " << r.tokens.size()
            << " generated, " << decode_rate << " tokens/s decode; stopped: " << stop_reason(r.stop) << "]\n";
  if (r.stop == GenerationResult::Stop::ContextFull) {
    std::cerr << "qwen3c: the context of " << session.max_context()
              << " tokens is full (raise --context)\n";
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt, streamed as it comes");
  cmd->add_option("artifact", opts->artifact, "Compiled model (.q3c) with an embedded tokenizer")->required();
  add_device_option(cmd, opts->device);
  cmd->add_option("-p,--prompt", opts->prompt, "Prompt text")->required();
  cmd->add_flag("--chat", opts->chat, "Wrap the prompt as a user turn in the Qwen3 chat format");
  cmd->add_flag("--no-think", opts->no_think, "With --chat: disable thinking (empty think block)");
  cmd->add_option("--system", opts->system, "With --chat: a system message");
  add_generation_flags(*cmd, opts->flags);
  cmd->callback([opts] { run_run(*opts); });
}

}  // namespace qwen3c::cli
