// What `qwen3c serve` is built on, without HTTP: the OpenAI request parser and the chat
// template with tools (against Jinja renderings of Qwen3's own template), the reply
// splitter (thinking, content, tool calls; whole and streamed), and the slot scheduler
// (requests together answered as if alone, prefix reuse, cancellation, a full queue).

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/core/error.h"
#include "runtime/execution/session.h"
#include "runtime/generation/slot_scheduler.h"
#include "runtime/serving/openai_api.h"
#include "runtime/text/chat_format.h"
#include "runtime/text/reply_stream.h"
#include "runtime/text/tokenizer.h"
#include "tests/run_process.h"
#include "tests/test_files.h"

namespace qwen3c {
namespace {

using namespace qwen3c::testing;
using nlohmann::json;

TEST(ChatTemplate, ToolsAndToolCallsRenderAsQwen3sTemplate) {
  std::ifstream in(test_data("tokenizer/chat_tool_goldens.json"));
  const nlohmann::ordered_json goldens = nlohmann::ordered_json::parse(in);
  ASSERT_EQ(goldens["cases"].size(), 3u);
  for (const auto& c : goldens["cases"]) {
    nlohmann::ordered_json body = {{"model", "m"}, {"messages", c["messages"]}, {"tools", c["tools"]},
                                   {"chat_template_kwargs", {{"enable_thinking", c["enable_thinking"]}}}};
    const openai::ChatRequest r = openai::parse_chat_request(body.dump(), {});
    EXPECT_EQ(render_chat(r.messages, r.chat), c["text"].get<std::string>()) << body.dump();
  }
}

TEST(ReplyStream, SplitsThinkingContentAndToolCalls) {
  ParsedReply r = parse_reply("<think>\nLet me see.\n</think>\n\nIt is 21 degrees.");
  EXPECT_TRUE(r.has_reasoning);
  EXPECT_EQ(r.reasoning, "Let me see.");
  EXPECT_EQ(r.content, "It is 21 degrees.");
  EXPECT_TRUE(r.tool_calls.empty());

  r = parse_reply("I will check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
                  "\n<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>");
  EXPECT_FALSE(r.has_reasoning);
  EXPECT_EQ(r.content, "I will check.");
  ASSERT_EQ(r.tool_calls.size(), 2u);
  EXPECT_EQ(r.tool_calls[0].name, "get_weather");
  EXPECT_EQ(json::parse(r.tool_calls[0].arguments), json({{"city", "Paris"}}));
  EXPECT_EQ(r.tool_calls[1].name, "now");

  // Not a call (bad JSON, no name, never closed): it stays text.
  r = parse_reply("<tool_call>\n{not json}\n</tool_call>");
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.content, "<tool_call>\n{not json}\n</tool_call>");
  EXPECT_TRUE(parse_reply("<tool_call>{\"arguments\": {}}</tool_call>").tool_calls.empty());
  EXPECT_EQ(parse_reply("a <tool_call>{\"name\"").content, "a <tool_call>{\"name\"");
  // A thought cut off by the token limit is all reasoning.
  r = parse_reply("<think>\nStill thinking");
  EXPECT_EQ(r.reasoning, "Still thinking");
  EXPECT_EQ(r.content, "");
  // Text that only looks like the start of a tag.
  EXPECT_EQ(parse_reply("a < b and <thin ice").content, "a < b and <thin ice");
}

TEST(ReplyStream, StreamingGivesWhatTheWholeReplyGives) {
  const std::string text =
      "<think>\nPlan: call it.\n</think>\n\nChecking.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": [1, 2]}}\n"
      "</tool_call>\nDone <tool_ maybe";
  const ParsedReply whole = parse_reply(text);
  for (std::size_t piece : {1u, 2u, 3u, 7u}) {
    std::string reasoning, content;
    std::vector<ChatToolCall> calls;
    ReplyStream s({[&](std::string_view t) { reasoning += t; }, [&](std::string_view t) { content += t; },
                   [&](const ChatToolCall& c) { calls.push_back(c); }});
    for (std::size_t i = 0; i < text.size(); i += piece) s.push(std::string_view(text).substr(i, piece));
    s.finish();
    EXPECT_EQ(reasoning, whole.reasoning) << "pieces of " << piece;
    EXPECT_EQ(content, whole.content) << "pieces of " << piece;
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].name, "f");
    EXPECT_EQ(s.tool_calls(), 1);
  }
  EXPECT_EQ(whole.reasoning, "Plan: call it.");
  EXPECT_EQ(whole.content, "Checking.\nDone <tool_ maybe");
}

TEST(OpenAiRequests, BadRequestsNameTheField) {
  const openai::Limits limits{1024, 0};
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", "temperature"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3})", "temperature"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2})", "n"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "logprobs": true})", "logprobs"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}})",
       "response_format"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "required"})", "tool_choice"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": ["a", "b", "c", "d", "e"]})", "stop"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0})", "max_tokens"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true}})",
       "stream_options"},
      {R"({"model": "m", "messages": [{"role": "wizard", "content": "x"}]})", "messages[0].role"},
      {R"({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", "messages[0].content"},
      {R"({"model": "m", "messages": []})", "messages"},
      {R"({"messages": [{"role": "user", "content": "x"}]})", "model"},
  };
  for (const auto& [body, param] : cases) {
    try {
      openai::parse_chat_request(body, limits);
      ADD_FAILURE() << "accepted: " << body;
    } catch (const openai::ApiError& e) {
      EXPECT_EQ(e.status, 400);
      EXPECT_EQ(e.param, param) << body << ": " << e.what();
    }
  }
  for (const std::string body : {"", "[]", "{\"model\": \"m\", \"model\": \"m\"}", "{\"model\":"}) {
    EXPECT_THROW(openai::parse_chat_request(body, limits), openai::ApiError) << body;
  }
  // Fields that change nothing are accepted; OpenAI's defaults apply.
  const openai::ChatRequest r = openai::parse_chat_request(
      R"({"model": "m", "messages": [{"role": "developer", "content": [{"type": "text", "text": "be brief"}]},
          {"role": "user", "content": "x"}], "user": "u1", "n": 1, "stop": "END", "max_completion_tokens": 5,
          "stream": true, "stream_options": {"include_usage": true}})",
      limits);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[0].content, "be brief");
  EXPECT_EQ(r.generation.max_tokens, 5);
  EXPECT_EQ(r.generation.stop_strings, std::vector<std::string>{"END"});
  EXPECT_EQ(r.generation.sampling.temperature, 1.0f);
  EXPECT_EQ(r.generation.sampling.top_k, 0);
  EXPECT_TRUE(r.stream && r.include_usage);
}

// The tiny fixture, compiled once, behind a scheduler.
class Scheduler : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ProcessResult r = run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c compile " +
                                  test_data("models/qwen3-tiny") + " --precision f32 -o " + dir_->file("tiny.q3c"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    model_ = new std::shared_ptr<Model>(Model::load(dir_->file("tiny.q3c")));
    tokenizer_ = new Tokenizer(Tokenizer::load(dir_->file("tiny.q3c")));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tokenizer_;
    delete dir_;
  }
  static std::shared_ptr<GenerationJob> job(const std::string& prompt, std::int64_t max_tokens) {
    auto j = std::make_shared<GenerationJob>();
    j->prompt = tokenizer_->encode(prompt);
    j->options.max_tokens = max_tokens;
    j->options.sampling.temperature = 0;
    return j;
  }
  static inline TempDir* dir_ = nullptr;
  static inline std::shared_ptr<Model>* model_ = nullptr;
  static inline Tokenizer* tokenizer_ = nullptr;
};

TEST_F(Scheduler, RequestsTogetherAreAnsweredAsEachAlone) {
  std::vector<std::string> prompts;
  for (int i = 0; i < 6; ++i) prompts.push_back("Prompt " + std::to_string(i) + std::string(i * 40, 'x'));
  std::vector<std::vector<std::int64_t>> alone;
  {
    SlotScheduler one(*model_, *tokenizer_, 1, 512, 16);
    for (const std::string& p : prompts) {
      auto j = job(p, 12);
      ASSERT_TRUE(one.submit(j));
      j->wait();
      alone.push_back(j->tokens);
    }
  }
  SlotScheduler many(*model_, *tokenizer_, 3, 512, 16);  // more requests than slots: some wait
  std::vector<std::shared_ptr<GenerationJob>> jobs;
  for (std::size_t i = 0; i < prompts.size(); ++i) jobs.push_back(job(prompts[i], 12 - static_cast<int>(i)));
  for (auto& j : jobs) ASSERT_TRUE(many.submit(j));
  int at_limit = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    jobs[i]->wait();
    const auto limit = static_cast<std::size_t>(12 - static_cast<int>(i));
    at_limit += jobs[i]->finish == GenerationJob::Finish::Length;
    ASSERT_LE(jobs[i]->tokens.size(), limit);
    EXPECT_EQ(jobs[i]->completion_tokens, static_cast<std::int64_t>(jobs[i]->tokens.size()));
    // Greedy: the same tokens as alone, as far as the shorter limit goes.
    const std::vector<std::int64_t> expected(alone[i].begin(),
                                             alone[i].begin() + static_cast<std::ptrdiff_t>(std::min(limit, alone[i].size())));
    EXPECT_EQ(jobs[i]->tokens, expected) << "request " << i;
  }
  EXPECT_GT(at_limit, 0);
  EXPECT_EQ(many.stats().busy_slots, 0);
  EXPECT_EQ(many.stats().finished, 6);
}

TEST_F(Scheduler, ANextTurnReusesTheCachedPrefix) {
  SlotScheduler s(*model_, *tokenizer_, 2, 512, 4);
  auto first = job("The first turn of a conversation", 6);
  ASSERT_TRUE(s.submit(first));
  first->wait();
  auto next = job("The first turn of a conversation and the next one", 6);
  ASSERT_TRUE(s.submit(next));
  next->wait();
  EXPECT_GT(next->reused_tokens, 3);
  SlotScheduler fresh(*model_, *tokenizer_, 1, 512, 4);
  auto same = job("The first turn of a conversation and the next one", 6);
  ASSERT_TRUE(fresh.submit(same));
  same->wait();
  EXPECT_EQ(same->reused_tokens, 0);
  EXPECT_EQ(next->tokens, same->tokens);
}

TEST_F(Scheduler, CancellingFreesTheSlotAndAFullQueueRefuses) {
  SlotScheduler s(*model_, *tokenizer_, 1, 4096, 1);
  auto long_job = job("Go on", 3000);
  int pieces = 0;
  long_job->on_text = [&](std::string_view) { return ++pieces < 3; };  // the client goes away
  auto waiting = job("Then me", 2);
  ASSERT_TRUE(s.submit(long_job));
  ASSERT_TRUE(s.submit(waiting));
  auto refused = job("And me", 2);
  // One slot and one waiting place: whichever holds them, a third has no room.
  bool third = s.submit(refused);
  long_job->wait();
  EXPECT_EQ(long_job->finish, GenerationJob::Finish::Cancelled);
  EXPECT_LT(long_job->completion_tokens, 10);
  waiting->wait();
  EXPECT_EQ(waiting->finish, GenerationJob::Finish::Length);
  if (third) refused->wait();
  EXPECT_FALSE(third) << "the queue took more than its limit";
  std::string long_prompt;
  for (int i = 0; i < 5000; ++i) long_prompt += " a";
  EXPECT_THROW(s.submit(job(long_prompt, 2)), Error);  // longer than the context
}

// A step returns at most the rows of logits the device's buffers hold (Vulkan: one binding;
// lavapipe's 128 MiB are 220 rows of Qwen3's vocabulary): pretending a binding holds 2
// rows, four requests decoding together take turns and are still answered as each alone
// (before, every step of three or more failed them all).
TEST(SchedulerOnADevice, StepsReturnNoMoreLogitsThanTheDeviceHolds) {
  TempDir dir;
  const std::string artifact = dir.file("tiny-vulkan.q3c");
  ProcessResult r = run_process(std::string(QWEN3C_BINARY_DIR) + "/tools/qwen3c compile " +
                                test_data("models/qwen3-tiny") + " --target vulkan -o " + artifact);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string two_rows = std::to_string(((2 * 151936 + 1) * 4 + 15) / 16 * 16);
  ::setenv("QWEN3C_VULKAN_MAX_BINDING_BYTES", two_rows.c_str(), 1);
  std::shared_ptr<Model> model = Model::load(artifact);
  ::unsetenv("QWEN3C_VULKAN_MAX_BINDING_BYTES");
  ASSERT_EQ(model->executor().max_logit_rows(), 2);
  {  // A batched step asking for more is refused up front, naming the limit.
    Session session(model, 16, 3);
    const std::vector<std::int64_t> ids = {1, 2};
    const std::vector<Session::Chunk> three = {{0, ids}, {1, ids}, {2, ids}};
    try {
      session.forward_batch(three);
      ADD_FAILURE() << "three rows of logits at a limit of two";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("at most 2 rows of logits"), std::string::npos) << e.what();
    }
    EXPECT_EQ(session.position(1), 0);
    EXPECT_EQ(session.forward_batch(std::span(three).first(2)).size(), 2u * 151936);
  }
  const Tokenizer tokenizer = Tokenizer::load(artifact);
  auto job = [&](int i) {
    auto j = std::make_shared<GenerationJob>();
    j->prompt = tokenizer.encode("Request " + std::to_string(i) + std::string(i * 7, 'y'));
    j->options.max_tokens = 8;
    j->options.sampling.temperature = 0;
    return j;
  };
  std::vector<std::vector<std::int64_t>> alone;
  {
    SlotScheduler one(model, tokenizer, 1, 256, 8);
    for (int i = 0; i < 4; ++i) {
      auto j = job(i);
      ASSERT_TRUE(one.submit(j));
      j->wait();
      ASSERT_EQ(j->finish, GenerationJob::Finish::Length) << j->error;
      alone.push_back(j->tokens);
    }
  }
  SlotScheduler four(model, tokenizer, 4, 256, 8);
  std::vector<std::shared_ptr<GenerationJob>> jobs;
  for (int i = 0; i < 4; ++i) jobs.push_back(job(i));
  for (auto& j : jobs) ASSERT_TRUE(four.submit(j));
  for (int i = 0; i < 4; ++i) {
    jobs[i]->wait();
    EXPECT_EQ(jobs[i]->finish, GenerationJob::Finish::Length) << jobs[i]->error;
    EXPECT_EQ(jobs[i]->tokens, alone[i]) << "request " << i;
  }
}

}  // namespace
}  // namespace qwen3c
