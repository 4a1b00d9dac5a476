// qwen3c chat ART [--system TEXT] [--no-think]: an interactive multi-turn chat. The
// conversation stays in the KV cache: each turn feeds only its own tokens. Lines from stdin
// (a terminal or a pipe); /reset starts over; Ctrl-D (end of input) exits.

#include <unistd.h>

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

struct ChatOptionsFlags {
  std::string artifact;
  int device = -1;
  std::string system;
  bool no_think = false;
  GenerationFlags flags;
};

void run_chat(ChatOptionsFlags opts) {
  if (opts.flags.greedy) opts.flags.generation.sampling.temperature = 0;
  auto model = Model::load(opts.artifact, ExecutorOptions{opts.device});
  Tokenizer tokenizer = Tokenizer::load(opts.artifact);
  Session session(model, std::min(opts.flags.context, model->config().max_position_embeddings), 1,
                  resolve_kv_type(opts.flags.kv_type, *model));
  auto generator = std::make_unique<Generator>(session, tokenizer);
  const bool interactive = ::isatty(STDIN_FILENO);
  const ChatOptions format{true, !opts.no_think, {}};

  bool first_turn = true;
  std::int64_t unfed = -1;  // the last token of the previous reply, not yet in the cache
  // One turn: this line's tokens fed after the cache's, then the reply.
  auto run_turn = [&](const std::string& line) {
    std::vector<ChatMessage> turn;
    if (first_turn && !opts.system.empty()) turn.push_back({"system", opts.system, std::nullopt, {}});
    turn.push_back({"user", line, std::nullopt, {}});
    // Only this turn's text: the earlier turns are already in the cache. After a reply that
    // did not end with <|im_end|>, close it first.
    std::string text = render_chat(turn, format);
    std::vector<std::int64_t> ids;
    if (unfed >= 0) ids.push_back(unfed);
    if (!first_turn && unfed >= 0 && !tokenizer.is_special(unfed)) {
      for (std::int64_t id : tokenizer.encode("<|im_end|>")) ids.push_back(id);
    }
    if (!first_turn) {
      for (std::int64_t id : tokenizer.encode("\n")) ids.push_back(id);
    }
    for (std::int64_t id : tokenizer.encode(text)) ids.push_back(id);
    return generator->generate(ids, opts.flags.generation, [](std::string_view piece) {
      std::cout << piece << std::flush;
    });
  };
  if (interactive) std::cerr << "qwen3c chat: type a message; /reset starts over; Ctrl-D exits.\n";
  for (std::string line;;) {
    if (interactive) std::cerr << "> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line == "/reset") {
      session.reset();
      generator = std::make_unique<Generator>(session, tokenizer);
      first_turn = true;
      unfed = -1;
      std::cerr << "[conversation reset]\n";
      continue;
    }
    if (line.empty()) continue;
    // A turn that fails (a line that is not UTF-8, a prompt past the context) is reported
    // and leaves the conversation as it was: the generator rewinds the KV cache.
    GenerationResult r;
    try {
      r = run_turn(line);
    } catch (const Error& e) {
      std::cerr << "\nqwen3c: " << e.what() << " (this line was skipped; /reset starts over)\n";
      continue;
    }
    std::cout << "\n" << std::flush;
    first_turn = false;
    unfed = r.unfed;
    const double rate = r.tokens.size() > 1 ? (r.tokens.size() - 1) / r.decode_seconds : 0;
    std::cerr << std::fixed << std::setprecision(1) << "[" << r.tokens.size() << " tokens, " << rate
              << " tokens/s; context " << session.position() << "/" << session.max_context() << "]\n";
    if (r.stop == GenerationResult::Stop::ContextFull) {
      std::cerr << "qwen3c: the context is full; /reset to start over\n";
    }
  }
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto opts = std::make_shared<ChatOptionsFlags>();
  CLI::App* cmd = app.add_subcommand("chat", "Chat with a model in the Qwen3 chat format");
  cmd->add_option("artifact", opts->artifact, "Compiled model (.q3c) with an embedded tokenizer")->required();
  add_device_option(cmd, opts->device);
  cmd->add_option("--system", opts->system, "System message");
  cmd->add_flag("--no-think", opts->no_think, "Disable thinking (empty think block in every reply)");
  add_generation_flags(*cmd, opts->flags);
  cmd->callback([opts] { run_chat(*opts); });
}

}  // namespace qwen3c::cli
