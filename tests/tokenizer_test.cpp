// The Qwen3 tokenizer and chat format against Hugging Face's own outputs
// (tests/data/tokenizer/tokenizer_goldens.json), and its behaviour on hostile input.

#include "runtime/text/tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/generation/reply.h"
#include "runtime/text/chat_format.h"
#include "runtime/core/error.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using nlohmann::json;
using testing::test_data;

const Tokenizer& qwen3_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::load(test_data("models/qwen3-tiny/tokenizer.json"));
  return tokenizer;
}

const json& goldens() {
  static const json g = [] {
    std::ifstream in(test_data("tokenizer/tokenizer_goldens.json"));
    return json::parse(in);
  }();
  return g;
}

TEST(Tokenizer, EncodesEveryGoldenCaseExactly) {
  ASSERT_EQ(goldens()["cases"].size(), 46u);
  for (const json& c : goldens()["cases"]) {
    const std::string text = c["text"];
    EXPECT_EQ(qwen3_tokenizer().encode(text), c["ids"].get<std::vector<std::int64_t>>()) << text;
  }
}

TEST(Tokenizer, DecodesEveryGoldenCaseExactly) {
  for (const json& c : goldens()["cases"]) {
    const auto ids = c["ids"].get<std::vector<std::int64_t>>();
    EXPECT_EQ(qwen3_tokenizer().decode(ids), c["decoded"].get<std::string>()) << c["text"];
  }
}

TEST(Tokenizer, StreamingDecodeOneTokenAtATimeReproducesText) {
  for (const json& c : goldens()["cases"]) {
    StreamingDecoder decoder(qwen3_tokenizer());
    std::string text;
    for (std::int64_t id : c["ids"].get<std::vector<std::int64_t>>()) {
      std::string piece = decoder.push(id);
      // Never half a character: every piece is valid UTF-8 on its own.
      EXPECT_EQ(qwen3_tokenizer().encode(piece).empty(), piece.empty());
      text += piece;
    }
    text += decoder.flush();
    EXPECT_EQ(text, c["decoded"].get<std::string>()) << c["text"];
  }
}

TEST(Tokenizer, StreamingHoldsBackPartialCharacters) {
  // "🫠" is four bytes spread over three tokens; nothing is emitted until it is whole.
  const std::vector<std::int64_t> ids = qwen3_tokenizer().encode("🫠");
  ASSERT_GT(ids.size(), 1u);
  StreamingDecoder decoder(qwen3_tokenizer());
  for (std::size_t i = 0; i + 1 < ids.size(); ++i) EXPECT_EQ(decoder.push(ids[i]), "");
  EXPECT_EQ(decoder.push(ids.back()), "🫠");
  // An unfinished character at the end becomes U+FFFD.
  StreamingDecoder partial(qwen3_tokenizer());
  EXPECT_EQ(partial.push(ids[0]), "");
  EXPECT_EQ(partial.flush(), "\xEF\xBF\xBD");
}

TEST(ChatFormat, RendersEveryGoldenConversation) {
  ASSERT_EQ(goldens()["chat"].size(), 5u);
  for (const json& c : goldens()["chat"]) {
    std::vector<ChatMessage> messages;
    for (const json& m : c["messages"]) messages.push_back({m["role"], m["content"], std::nullopt, {}});
    ChatOptions options;
    options.add_generation_prompt = c["options"].value("add_generation_prompt", false);
    options.enable_thinking = c["options"].value("enable_thinking", true);
    const std::string text = render_chat(messages, options);
    EXPECT_EQ(text, c["text"].get<std::string>());
    EXPECT_EQ(qwen3_tokenizer().encode(text), c["ids"].get<std::vector<std::int64_t>>());
  }
}

TEST(ChatFormat, KeepsThinkingOfTheCurrentAnswerOnly) {
  const std::vector<ChatMessage> messages = {
      {"user", "q1", std::nullopt, {}},
      {"assistant", "<think>\nold\n</think>\n\na1", std::nullopt, {}},
      {"user", "q2", std::nullopt, {}},
      {"assistant", "<think>\nnew\n</think>\n\na2", std::nullopt, {}},
  };
  EXPECT_EQ(render_chat(messages, {false, true, {}}),
            "<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n"
            "<|im_start|>user\nq2<|im_end|>\n<|im_start|>assistant\n<think>\nnew\n</think>\n\na2<|im_end|>\n");
  EXPECT_THROW(render_chat({{"robot", "x", std::nullopt, {}}}, {}), Error);
}

TEST(ChatFormat, ToolResponsesAreUserTurns) {
  const std::vector<ChatMessage> messages = {
      {"user", "weather?", std::nullopt, {}},
      {"assistant", "calling", std::nullopt, {}},
      {"tool", "sunny", std::nullopt, {}},
      {"tool", "22C", std::nullopt, {}},
  };
  EXPECT_EQ(render_chat(messages, {true, true, {}}),
            "<|im_start|>user\nweather?<|im_end|>\n<|im_start|>assistant\ncalling<|im_end|>\n"
            "<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<tool_response>\n22C\n"
            "</tool_response><|im_end|>\n<|im_start|>assistant\n");
}

TEST(Tokenizer, InvalidUtf8IsAClearError) {
  for (const std::string& bad : {std::string("abc\xff"), std::string("\xc3"), std::string("x\xe2\x28\xa1"),
                                std::string("\xed\xa0\x80")}) {
    try {
      qwen3_tokenizer().encode(bad);
      FAIL() << "accepted invalid UTF-8";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
    }
  }
}

TEST(Tokenizer, UnknownIdIsAClearError) {
  for (std::int64_t bad : {std::int64_t{-1}, std::int64_t{151669}, std::int64_t{1} << 40}) {
    const std::vector<std::int64_t> ids = {9707, bad};
    try {
      qwen3_tokenizer().decode(ids);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("is not in the vocabulary"), std::string::npos) << e.what();
    }
  }
}

TEST(Tokenizer, SpecialTokensAreRecognisedInText) {
  const auto ids = qwen3_tokenizer().encode("<|im_start|>user<|im_end|>");
  EXPECT_EQ(ids, (std::vector<std::int64_t>{151644, 872, 151645}));
  EXPECT_TRUE(qwen3_tokenizer().is_special(151645));
  EXPECT_FALSE(qwen3_tokenizer().is_special(151667));  // <think> is added but not special
  EXPECT_EQ(qwen3_tokenizer().token_id("<think>"), 151667);
}

// Long inputs must not be quadratic (CTest gives these a timeout; see CMakeLists.txt).
TEST(TokenizerLong, OneMegabyteWord) {
  std::string word;
  for (int i = 0; i < (1 << 20) / 3; ++i) word += "abc";
  const auto ids = qwen3_tokenizer().encode(word);
  EXPECT_LT(ids.size(), word.size() / 2);
  EXPECT_EQ(qwen3_tokenizer().decode(ids), word);
}

TEST(TokenizerLong, OneMegabyteOfSpaces) {
  const std::string spaces(1 << 20, ' ');
  const auto ids = qwen3_tokenizer().encode(spaces);
  EXPECT_EQ(qwen3_tokenizer().decode(ids), spaces);
  const std::string tail = spaces + "x";
  EXPECT_EQ(qwen3_tokenizer().decode(qwen3_tokenizer().encode(tail)), tail);
}

TEST(TokenizerLong, OneMegabyteOfOneLetter) {
  const std::string a(1 << 20, 'a');
  EXPECT_EQ(qwen3_tokenizer().decode(qwen3_tokenizer().encode(a)), a);
}

TEST(TokenizerLoad, BadSourcesAreClearErrors) {
  EXPECT_THROW(Tokenizer::load(test_data("models/qwen3-small")), Error);  // no tokenizer.json
  EXPECT_THROW(Tokenizer::from_json("{\"model\": 3", "t.json"), Error);
  EXPECT_THROW(Tokenizer::from_json("{\"model\": {\"type\": \"Unigram\"}}", "t.json"), Error);
}

// A reply's text as the tokens it is made of arrive: held back while it may begin a stop
// string, cut before one, flushed at an end of turn or the token limit.
TEST(Reply, EndsAtEndOfTurnStopStringOrLimit) {
  const Tokenizer& t = qwen3_tokenizer();
  const std::vector<std::int64_t> ids = t.encode("Hello world. STOP here");
  const std::int64_t end_of_turn = *t.token_id("<|im_end|>");
  const std::vector<std::int64_t> ends = {end_of_turn};
  auto run = [&](const std::vector<std::string>& stops, std::int64_t limit, std::vector<std::int64_t> tokens,
                 Reply::End* how) {
    Reply reply(t, stops, limit, ends);
    std::string text;
    *how = Reply::End::None;
    for (std::int64_t id : tokens) {
      *how = reply.take(id, text);
      if (*how != Reply::End::None) break;
    }
    if (*how == Reply::End::None) text += reply.flush();
    return text;
  };
  Reply::End how;
  std::vector<std::int64_t> with_end = ids;
  with_end.push_back(end_of_turn);
  EXPECT_EQ(run({}, 100, with_end, &how), "Hello world. STOP here");
  EXPECT_EQ(how, Reply::End::EndOfTurn);
  EXPECT_EQ(run({" STOP"}, 100, ids, &how), "Hello world.");
  EXPECT_EQ(how, Reply::End::StopString);
  const std::vector<std::int64_t> first_two = {ids[0], ids[1]};
  EXPECT_EQ(run({}, 2, ids, &how), t.decode(first_two));
  EXPECT_EQ(how, Reply::End::MaxTokens);
  EXPECT_EQ(run({"never"}, 100, ids, &how), "Hello world. STOP here");  // flushed by the caller
  EXPECT_EQ(how, Reply::End::None);
}

}  // namespace
}  // namespace qwen3c
