// qwen3c tokenize SOURCE (--text T | --file F)   -> JSON array of ids
// qwen3c detokenize SOURCE --ids 1,2,3            -> text
// SOURCE: tokenizer.json, a model folder, or an artifact that embeds the tokenizer.

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "runtime/core/error.h"
#include "runtime/core/mapped_file.h"
#include "runtime/text/tokenizer.h"
#include "tools/commands/commands.h"
#include "tools/commands/validators.h"

namespace qwen3c::cli {

namespace {

struct TokenizeOptions {
  std::string source;
  std::string text;
  std::string file;
  std::vector<std::int64_t> ids;
};

void run_tokenize(const TokenizeOptions& opts, bool from_file) {
  std::string text = opts.text;
  if (from_file) {
    // Regular files only: a directory or "" is an error, not an empty text.
    MappedFile file(opts.file);
    text.assign(reinterpret_cast<const char*>(file.data()), file.size());
  }
  Tokenizer tokenizer = Tokenizer::load(opts.source);
  std::vector<std::int64_t> ids = tokenizer.encode(text);
  std::cout << "[";
  for (std::size_t i = 0; i < ids.size(); ++i) std::cout << (i ? ", " : "") << ids[i];
  std::cout << "]\n";
}

void run_detokenize(const TokenizeOptions& opts) {
  Tokenizer tokenizer = Tokenizer::load(opts.source);
  std::cout << tokenizer.decode(opts.ids);
  std::cout.flush();
}

}  // namespace

void add_tokenize_commands(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  CLI::App* tok = app.add_subcommand("tokenize", "Encode text to token ids (a JSON array)");
  tok->add_option("source", opts->source, "tokenizer.json, model folder or .q3c artifact")->required();
  auto* text = tok->add_option("--text", opts->text, "Text to encode");
  auto* file = tok->add_option("--file", opts->file, "File whose contents to encode");
  text->excludes(file);
  tok->callback([opts, text, file] {
    if (text->count() == 0 && file->count() == 0) throw CLI::RequiredError("--text or --file");
    run_tokenize(*opts, file->count() > 0);
  });

  CLI::App* detok = app.add_subcommand("detokenize", "Decode token ids to text");
  detok->add_option("source", opts->source, "tokenizer.json, model folder or .q3c artifact")->required();
  detok->add_option("--ids", opts->ids, "Token ids, comma separated")->required()->delimiter(',')->check(token_id());
  detok->callback([opts] { run_detokenize(*opts); });
}

}  // namespace qwen3c::cli
