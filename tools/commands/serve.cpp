// qwen3c serve ARTIFACT [--host H] [--port P] [--parallel N] [--context C] [--api-key K]
// An OpenAI-compatible HTTP server: /v1/chat/completions, /v1/completions, /v1/models,
// /health, /metrics, /tokenize, /detokenize. Requests run in a SlotScheduler (N slots,
// each its own KV cache); replies stream as server-sent events when asked.
// HTTP through cpp-httplib; what requests mean lives in runtime/serving/openai_api.h.

#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "runtime/core/error.h"
#include "runtime/execution/session.h"
#include "runtime/generation/slot_scheduler.h"
#include "runtime/serving/openai_api.h"
#include "runtime/text/chat_format.h"
#include "runtime/text/reply_stream.h"
#include "runtime/text/tokenizer.h"
#include "tools/commands/commands.h"
#include "tools/commands/kv_type_flag.h"
#include "tools/commands/validators.h"

namespace qwen3c::cli {

namespace {

using ojson = nlohmann::ordered_json;
using openai::ApiError;

struct ServeOptions {
  std::string artifact;
  int device = -1;
  std::string host = "127.0.0.1";
  int port = 8080;
  int parallel = 4;
  std::int64_t context = 4096;
  std::string kv_type;
  std::string api_key;
  std::string api_key_file;
  std::string alias;
  int max_queue = 64;
  std::int64_t max_body = 8 << 20;
  int threads = 0;
};

std::int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Everything the handlers share. The model loads in the background: /health says 503 until
// `ready`.
class Server {
 public:
  explicit Server(ServeOptions o) : opts_(std::move(o)) {
    if (opts_.alias.empty()) opts_.alias = std::filesystem::path(opts_.artifact).stem().string();
    if (!opts_.api_key_file.empty()) {
      std::ifstream in(opts_.api_key_file);
      if (!in) throw Error(opts_.api_key_file + ": cannot read the API key");
      std::getline(in, opts_.api_key);
      if (opts_.api_key.empty()) throw Error(opts_.api_key_file + ": the first line (the API key) is empty");
    }
  }

  int run() {
    httplib::Server http;
    // Each streaming client holds a thread while it streams: room for many of them.
    http.new_task_queue = [] { return new httplib::ThreadPool(128); };
    http.set_payload_max_length(static_cast<std::size_t>(opts_.max_body));
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (req.path == "/health" || opts_.api_key.empty()) return httplib::Server::HandlerResponse::Unhandled;
      if (req.get_header_value("Authorization") != "Bearer " + opts_.api_key) {
        send_error(res, ApiError(401, "authentication_error", "invalid or missing API key (Authorization: Bearer KEY)",
                                 {}, "invalid_api_key"));
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 404) {
        send_error(res, ApiError(404, "not_found_error", "no such endpoint: " + req.method + " " + req.path));
      } else if (res.status == 413) {
        send_error(res, ApiError(413, "invalid_request_error",
                                 "the request body is larger than the limit of " + std::to_string(opts_.max_body) +
                                     " bytes"));
      } else {
        send_error(res, ApiError(res.status, "invalid_request_error", "the request could not be handled"));
      }
    });
    http.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "internal error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, ApiError(500, "server_error", what));
    });
    http.set_logger([this](const httplib::Request&, const httplib::Response& res) {
      std::lock_guard<std::mutex> lock(metrics_mutex_);
      ++requests_by_status_[res.status];
    });
    routes(http);

    const int port = opts_.port == 0 ? http.bind_to_any_port(opts_.host) : (http.bind_to_port(opts_.host, opts_.port)
                                                                                  ? opts_.port
                                                                                  : -1);
    if (port < 0) throw Error("cannot listen on " + opts_.host + ":" + std::to_string(opts_.port));
    std::cerr << "qwen3c serve: listening on http://" << opts_.host << ":" << port << " (model " << opts_.alias
              << ", " << opts_.parallel << " slots of " << opts_.context << " positions; loading)" << std::endl;
    std::thread loader([this] { load(); });
    std::thread signals([&http] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      sigaddset(&set, SIGTERM);
      int sig = 0;
      sigwait(&set, &sig);
      http.stop();
    });
    signals.detach();
    http.listen_after_bind();
    loader.join();
    std::cerr << "qwen3c serve: stopped" << std::endl;
    return 0;
  }

 private:
  void load() {
    try {
      auto model = Model::load(opts_.artifact, ExecutorOptions{opts_.device});
      if (opts_.threads > 0) model->executor().set_threads(opts_.threads);
      tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::load(opts_.artifact));
      const std::int64_t context = std::min(opts_.context, model->config().max_position_embeddings);
      scheduler_ = std::make_unique<SlotScheduler>(model, *tokenizer_, opts_.parallel, context, opts_.max_queue,
                                                   resolve_kv_type(opts_.kv_type, *model));
      limits_.context = context;
      model_ = std::move(model);
      ready_.store(true);
      std::cerr << "qwen3c serve: ready" << std::endl;
    } catch (const std::exception& e) {
      load_error_ = e.what();
      std::cerr << "qwen3c serve: error: " << e.what() << std::endl;
      failed_.store(true);
    }
  }

  static void send_json(httplib::Response& res, int status, const ojson& body) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, ojson::error_handler_t::replace), "application/json");
  }
  static void send_error(httplib::Response& res, const ApiError& e) {
    send_json(res, e.status, openai::error_body(e));
    if (e.status == 503) res.set_header("Retry-After", "1");
  }
  // Every model endpoint: the model must be loaded.
  void require_ready() const {
    if (failed_.load()) throw ApiError(503, "server_error", "the model failed to load: " + load_error_);
    if (!ready_.load()) throw ApiError(503, "server_error", "the model is still loading");
  }
  void require_model(const std::string& model) const {
    if (model != opts_.alias) {
      throw ApiError(404, "not_found_error", "the model '" + model + "' does not exist (this server has '" +
                                                 opts_.alias + "')", "model", "model_not_found");
    }
  }
  // The handler's body, with ApiError turned into its response.
  template <class F>
  httplib::Server::Handler api(F body) {
    return [this, body](const httplib::Request& req, httplib::Response& res) {
      try {
        body(req, res);
      } catch (const ApiError& e) {
        send_error(res, e);
      }
    };
  }

  void routes(httplib::Server& http) {
    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      if (ready_.load()) return send_json(res, 200, {{"status", "ok"}});
      send_json(res, 503, {{"status", failed_.load() ? "error" : "loading"}});
      res.set_header("Retry-After", "1");
    });
    http.Get("/v1/models", api([this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200,
                {{"object", "list"},
                 {"data", ojson::array({{{"id", opts_.alias}, {"object", "model"}, {"created", created_},
                                         {"owned_by", "qwen3c"}}})}});
    }));
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) { metrics(res); });
    http.Post("/tokenize", api([this](const httplib::Request& req, httplib::Response& res) {
      require_ready();
      const ojson j = openai::parse_request_object(req.body);
      const auto it = j.find("content");
      if (it == j.end() || !it->is_string()) throw ApiError(400, "invalid_request_error", "'content' must be a string", "content");
      try {
        send_json(res, 200, {{"tokens", tokenizer_->encode(it->get<std::string>())}});
      } catch (const Error& e) {
        throw ApiError(400, "invalid_request_error", e.what(), "content");
      }
    }));
    http.Post("/detokenize", api([this](const httplib::Request& req, httplib::Response& res) {
      require_ready();
      const ojson j = openai::parse_request_object(req.body);
      const auto it = j.find("tokens");
      if (it == j.end() || !it->is_array()) throw ApiError(400, "invalid_request_error", "'tokens' must be an array", "tokens");
      std::vector<std::int64_t> ids;
      for (const ojson& t : *it) {
        if (!t.is_number_integer()) throw ApiError(400, "invalid_request_error", "'tokens' must hold integers", "tokens");
        ids.push_back(t.get<std::int64_t>());
      }
      try {
        send_json(res, 200, {{"content", tokenizer_->decode(ids)}});
      } catch (const Error& e) {
        throw ApiError(400, "invalid_request_error", e.what(), "tokens");
      }
    }));
    http.Post("/v1/chat/completions", api([this](const httplib::Request& req, httplib::Response& res) {
      require_ready();
      openai::ChatRequest r = openai::parse_chat_request(req.body, limits_);
      require_model(r.model);
      std::string prompt;
      try {
        prompt = render_chat(r.messages, r.chat);
      } catch (const Error& e) {
        throw ApiError(400, "invalid_request_error", e.what(), "messages");
      }
      generate(res, prompt, std::move(r.generation), r.stream, r.include_usage, /*chat=*/true);
    }));
    http.Post("/v1/completions", api([this](const httplib::Request& req, httplib::Response& res) {
      require_ready();
      openai::CompletionRequest r = openai::parse_completion_request(req.body, limits_);
      require_model(r.model);
      generate(res, r.prompt, std::move(r.generation), r.stream, r.include_usage, /*chat=*/false);
    }));
  }

  static std::string finish_reason(const GenerationJob& job) {
    return job.finish == GenerationJob::Finish::Length ? "length" : "stop";
  }

  // Encodes, queues and answers one generation, whole or streamed.
  void generate(httplib::Response& res, const std::string& prompt, GenerationOptions generation, bool stream,
                bool include_usage, bool chat) {
    auto job = std::make_shared<GenerationJob>();
    try {
      job->prompt = tokenizer_->encode(prompt);
    } catch (const Error& e) {
      throw ApiError(400, "invalid_request_error", e.what(), chat ? "messages" : "prompt");
    }
    if (static_cast<std::int64_t>(job->prompt.size()) >= limits_.context) {
      throw ApiError(400, "invalid_request_error",
                     "the prompt is " + std::to_string(job->prompt.size()) + " tokens; this server's context is " +
                         std::to_string(limits_.context) + " tokens (--context), and the reply needs room too",
                     chat ? "messages" : "prompt", "context_length_exceeded");
    }
    job->options = std::move(generation);
    const std::string id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(next_id_.fetch_add(1)) + "-" +
                           std::to_string(unix_time());
    const std::int64_t created = unix_time();
    if (!stream) {
      submit(job);
      job->wait();
      if (job->finish == GenerationJob::Finish::Failed) throw ApiError(500, "server_error", job->error);
      const openai::Usage usage{job->prompt_tokens, job->completion_tokens};
      send_json(res, 200,
                chat ? openai::chat_response(id, created, opts_.alias, job->text, finish_reason(*job), usage)
                     : openai::completion_response(id, created, opts_.alias, job->text, finish_reason(*job), usage));
      return;
    }
    // Streamed: the worker hands text to `pending`; this connection's thread turns it into
    // events. A client that goes away cancels the job (its slot is freed at once).
    struct Pending {
      std::mutex mutex;
      std::condition_variable ready;
      std::string text;
      bool gone = false;
    };
    auto pending = std::make_shared<Pending>();
    job->on_text = [pending](std::string_view piece) {
      std::lock_guard<std::mutex> lock(pending->mutex);
      pending->text.append(piece);
      pending->ready.notify_all();
      return !pending->gone;
    };
    submit(job);
    const std::string model = opts_.alias;
    auto chunk = [id, created, model, chat](const ojson& choice) {
      return ojson{{"id", id},
                   {"object", chat ? "chat.completion.chunk" : "text_completion"},
                   {"created", created},
                   {"model", model},
                   {"choices", ojson::array({choice})}};
    };
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [job, pending, chunk, chat, include_usage](std::size_t, httplib::DataSink& sink) {
          auto send = [&](const ojson& event) {
            const std::string line = "data: " + event.dump(-1, ' ', false, ojson::error_handler_t::replace) + "\n\n";
            return sink.write(line.data(), line.size());
          };
          int tool_calls = 0;
          bool ok = true;
          auto delta = [&](ojson d) {
            ok = ok && send(chunk({{"index", 0}, {"delta", std::move(d)}, {"logprobs", nullptr}, {"finish_reason", nullptr}}));
          };
          ReplyStream reply({[&](std::string_view t) { delta({{"reasoning_content", std::string(t)}}); },
                             [&](std::string_view t) { delta({{"content", std::string(t)}}); },
                             [&](const ChatToolCall& c) {
                               delta({{"tool_calls",
                                       ojson::array({{{"index", tool_calls},
                                                      {"id", chunk(ojson::object())["id"].get<std::string>() +
                                                                 "-call-" + std::to_string(tool_calls)},
                                                      {"type", "function"},
                                                      {"function", {{"name", c.name}, {"arguments", c.arguments}}}}})}});
                               ++tool_calls;
                             }});
          if (chat) delta({{"role", "assistant"}, {"content", ""}});
          while (ok) {
            std::string text;
            bool finished = false;
            {
              std::unique_lock<std::mutex> lock(pending->mutex);
              pending->ready.wait_for(lock, std::chrono::milliseconds(50), [&] { return !pending->text.empty(); });
              text.swap(pending->text);
            }
            {
              std::lock_guard<std::mutex> lock(job->mutex);
              finished = job->done;
            }
            if (!text.empty()) {
              if (chat) {
                reply.push(text);
              } else {
                ok = send(chunk({{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", nullptr}}));
              }
            }
            if (!ok || !sink.is_writable()) break;
            if (finished) {
              std::lock_guard<std::mutex> lock(pending->mutex);
              if (!pending->text.empty()) continue;  // the last pieces first
              break;
            }
          }
          if (!ok || !sink.is_writable()) {
            std::lock_guard<std::mutex> lock(pending->mutex);
            pending->gone = true;
            job->cancel();
            return false;
          }
          if (chat) reply.finish();
          std::string reason = job->finish == GenerationJob::Finish::Length ? "length" : "stop";
          if (tool_calls > 0 && reason == "stop") reason = "tool_calls";
          if (job->finish == GenerationJob::Finish::Failed) reason = "error";
          ojson last = {{"index", 0}, {chat ? "delta" : "text", chat ? ojson::object() : ojson("")},
                        {"logprobs", nullptr}, {"finish_reason", reason}};
          ok = send(chunk(last));
          if (ok && include_usage) {
            ojson usage = chunk(ojson::object());
            usage["choices"] = ojson::array();
            usage["usage"] = openai::usage_json({job->prompt_tokens, job->completion_tokens});
            ok = send(usage);
          }
          if (ok) {
            static const std::string done = "data: [DONE]\n\n";
            sink.write(done.data(), done.size());
          }
          sink.done();
          return true;
        },
        [job, pending](bool) {
          // The connection is over, however it ended: a job still running has no reader.
          std::lock_guard<std::mutex> lock(pending->mutex);
          pending->gone = true;
          job->cancel();
        });
  }

  void submit(const std::shared_ptr<GenerationJob>& job) {
    bool queued = false;
    try {
      queued = scheduler_->submit(job);
    } catch (const Error& e) {
      throw ApiError(400, "invalid_request_error", e.what());
    }
    if (!queued) {
      throw ApiError(503, "server_error", "the server is busy: " + std::to_string(opts_.max_queue) +
                                              " requests are already waiting; retry shortly");
    }
  }

  void metrics(httplib::Response& res) {
    std::ostringstream out;
    out << "# HELP qwen3c_requests_total HTTP requests answered, by status.\n# TYPE qwen3c_requests_total counter\n";
    {
      std::lock_guard<std::mutex> lock(metrics_mutex_);
      for (const auto& [status, n] : requests_by_status_) {
        out << "qwen3c_requests_total{status=\"" << status << "\"} " << n << "\n";
      }
    }
    const SchedulerStats s = scheduler_ && ready_.load() ? scheduler_->stats() : SchedulerStats{};
    auto metric = [&](const char* name, const char* type, const char* help, double value) {
      out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n" << name << " " << value << "\n";
    };
    metric("qwen3c_prompt_tokens_total", "counter", "Prompt tokens of finished requests.", static_cast<double>(s.prompt_tokens));
    metric("qwen3c_prompt_tokens_reused_total", "counter", "Prompt tokens found in a slot's cache (not prefilled).",
           static_cast<double>(s.reused_tokens));
    metric("qwen3c_generated_tokens_total", "counter", "Tokens generated for finished requests.",
           static_cast<double>(s.generated_tokens));
    metric("qwen3c_tokens_per_second", "gauge", "Generated tokens per second of busy time.",
           s.busy_seconds > 0 ? static_cast<double>(s.generated_tokens) / s.busy_seconds : 0.0);
    metric("qwen3c_busy_slots", "gauge", "Slots serving a request.", static_cast<double>(s.busy_slots));
    metric("qwen3c_slots", "gauge", "Slots.", static_cast<double>(s.slots));
    metric("qwen3c_queue_length", "gauge", "Requests waiting for a slot.", static_cast<double>(s.queued));
    metric("qwen3c_requests_cancelled_total", "counter", "Requests whose client went away.", static_cast<double>(s.cancelled));
    res.set_content(out.str(), "text/plain; version=0.0.4");
  }

  ServeOptions opts_;
  openai::Limits limits_;
  std::shared_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<SlotScheduler> scheduler_;
  std::atomic<bool> ready_{false}, failed_{false};
  std::string load_error_;
  std::atomic<std::int64_t> next_id_{1};
  const std::int64_t created_ = unix_time();
  std::mutex metrics_mutex_;
  std::map<int, std::int64_t> requests_by_status_;
};

void run_serve(const ServeOptions& opts) {
  // SIGINT and SIGTERM go to the thread that stops the server, not to a worker; a client
  // closing its socket must not kill the process.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  Server server(opts);
  server.run();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto opts = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve a model over HTTP with the OpenAI API (chat and text completions)");
  cmd->add_option("artifact", opts->artifact, "Compiled model (.q3c) with an embedded tokenizer")->required();
  add_device_option(cmd, opts->device);
  cmd->add_option("--host", opts->host, "Address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", opts->port, "Port (default 8080; 0 picks a free one, printed at start)")
      ->check(count_in(0, 65535));
  cmd->add_option("--parallel", opts->parallel, "Slots: requests served at once, each with its own KV cache (default 4)")
      ->check(count_in(1, 256));
  add_kv_type_flag(*cmd, opts->kv_type);
  cmd->add_option("--context", opts->context, "Positions per slot (default 4096, at most the model's)")
      ->check(count_in(16, std::int64_t{1} << 24));
  cmd->add_option("--api-key", opts->api_key, "Require 'Authorization: Bearer KEY' (not on /health)");
  cmd->add_option("--api-key-file", opts->api_key_file, "Read the API key from the first line of this file");
  cmd->add_option("--alias", opts->alias, "The model id clients use (default: the artifact's name without .q3c)");
  cmd->add_option("--max-queue", opts->max_queue, "Requests that may wait for a slot before 503 (default 64)")
      ->check(count_in(0, 1 << 20));
  cmd->add_option("--max-body", opts->max_body, "Largest request body in bytes before 413 (default 8 MiB)")
      ->check(count_in(1024, std::int64_t{1} << 32));
  cmd->add_option("-t,--threads", opts->threads, "Threads of each step (default: every core)")->check(count_in(1, 1024));
  cmd->callback([opts] { run_serve(*opts); });
}

}  // namespace qwen3c::cli
