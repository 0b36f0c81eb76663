// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/testing/integration_runner.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "core/strings.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "rpcforge/app.h"
#include "rpcforge/auth/api_keys.h"
#include "rpcforge/client/dynamic_client.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"
#include "rpcforge/log.h"
#include "rpcforge/server/service.h"
#include "rpcforge/testing/fake_time_process.h"

namespace rpcforge::testing {
namespace {

using Seconds = std::chrono::duration<double>;

std::string CodeName(grpc::StatusCode code) { return StatusCodeName(code); }

bool IsAuthCode(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAUTHENTICATED || code == grpc::StatusCode::PERMISSION_DENIED;
}

using strings::Join;

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

// One call the runner made, and what the request log must say about it.
struct ExpectedRow {
  std::string full_method;  // "/pkg.Service/Method"
  grpc::StatusCode code;
  std::optional<int64_t> user_id;
  std::optional<int64_t> api_key_id;
};

// State is one run: what the steps found and made, and the steps themselves.
struct IntegrationRunner::State {
  State(App& a, const config::v1::Config& c, const IntegrationOptions& o)
      : app(a), cfg(c), opts(o) {}

  void Descriptors(StepResult& r);
  void Server(StepResult& r);
  bool StartServer(StepResult& r);
  bool WaitServing(StepResult& r);
  void CheckReflection(StepResult& r);
  void Keys(StepResult& r);
  void Clients(StepResult& r);
  void Logs(StepResult& r);
  void CheckServerStatus(StepResult& r);
  void CallWithExpiredKeys(StepResult& r);
  void CheckLogRows(StepResult& r);
  void Cleanup(StepResult& r);
  grpc::StatusCode Call(const std::string& method, bool client_streaming,
                        const DynamicMetadata& md);

  App& app;
  const config::v1::Config& cfg;
  const IntegrationOptions& opts;
  std::string binary;
  std::filesystem::path dir;
  std::string db_path;
  std::unique_ptr<FakeTimeProcess> child;
  pid_t child_pid = 0;
  std::string address;
  std::unique_ptr<DynamicClient> client;
  std::unique_ptr<db::Database> db;
  std::vector<std::string> services;                  // selected, full names
  std::vector<std::pair<std::string, bool>> methods;  // "pkg.Svc/Method", client-streaming
  nlohmann::json examples = nlohmann::json::object();
  auth::User user;
  auth::CreatedApiKey valid, revoked, expiring;
  std::vector<ExpectedRow> calls;
  int checks = 0;
  bool server_ok = false;
  bool keys_ok = false;
};

IntegrationRunner::IntegrationRunner(App& app, const config::v1::Config& config,
                                     IntegrationOptions options)
    : app_(app), config_(config), options_(std::move(options)) {}

IntegrationRunner::~IntegrationRunner() = default;

// 1. descriptors: the services and methods to test, and the examples file.
void IntegrationRunner::State::Descriptors(StepResult& r) {
  std::set<std::string> wanted(opts.services.begin(), opts.services.end());
  int method_count = 0;
  for (const auto& service : app.services()) {
    const std::string name = service->service_full_name();
    if (!config::ServiceEnabled(cfg, name)) continue;
    if (!wanted.empty() && wanted.count(name) == 0) continue;
    wanted.erase(name);
    services.push_back(name);
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    if (pool->FindServiceByName(name) == nullptr) {
      r.failures.push_back("service " + name + ": no descriptor in the binary");
    }
    for (const MethodInfo& m : service->methods()) {
      ++method_count;
      if (m.descriptor == nullptr) {
        r.failures.push_back(m.full_name + ": no method descriptor");
        continue;
      }
      methods.emplace_back(name + "/" + m.method, m.descriptor->client_streaming());
    }
  }
  for (const auto& missing : wanted) {
    r.failures.push_back("--service " + missing + " is not a registered, enabled service");
  }
  if (services.empty()) r.failures.push_back("no service to test");
  if (!opts.examples_file.empty()) {
    std::ifstream in(opts.examples_file);
    if (!in) throw InvalidArgument("cannot read examples file " + opts.examples_file);
    try {
      examples = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      throw InvalidArgument("examples file " + opts.examples_file + ": " + e.what());
    }
    if (!examples.is_object()) {
      throw InvalidArgument("examples file must hold a JSON object keyed by pkg.Service/Method");
    }
  }
  r.summary = std::to_string(services.size()) + " service(s), " + std::to_string(method_count) +
              " method(s) loaded";
}

// 2. server: migrate a temporary database, then serve it on a free loopback port.
bool IntegrationRunner::State::StartServer(StepResult& r) {
  if (binary.empty()) throw FailedPrecondition("cannot find the application binary");
  char tmpl[] = "/tmp/rpcforge-integration-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw Internal("cannot create a temporary directory");
  dir = tmpl;
  db_path = (dir / "integration.sqlite3").string();
  std::vector<std::string> common = {binary, "--database", db_path, "--log-level",
                                     log::LevelName(log::GetLevel())};
  if (!opts.config_file.empty()) {
    common.push_back("--config");
    common.push_back(opts.config_file);
  }
  // Schema first, in a process of its own, as an operator would.
  FakeTimeProcess::Options migrate;
  migrate.argv = common;
  migrate.argv.push_back("migrate");
  migrate.capture_stderr = true;
  FakeTimeProcess migrator(migrate);
  migrator.Start();
  auto migrated = migrator.Wait(std::chrono::seconds(60));
  if (!migrated || !migrated->success()) {
    r.failures.push_back("migrate failed: " + (migrated ? migrated->ToString() : "timeout") +
                         "\n    " + Join(migrator.output(), "\n    "));
    return false;
  }

  FakeTimeProcess::Options serve;
  serve.argv = common;
  serve.argv.insert(serve.argv.end(), {"serve", "--address", "127.0.0.1:0"});
  // The runner makes many calls with bad keys on purpose; the brute-force guard must
  // not turn them into RESOURCE_EXHAUSTED.
  serve.env["RPCFORGE_AUTH_BRUTE_FORCE_GUARD_MAX_FAILURES"] = "1000000";
  child = std::make_unique<FakeTimeProcess>(serve);
  child->Start();
  child_pid = child->pid();
  auto match = child->WaitForMatch(std::regex("listening on (\\S+)"), opts.ready_timeout);
  if (!match) {
    r.failures.push_back("the server printed no 'listening on' line within " +
                         std::to_string(opts.ready_timeout.count()) + " ms");
    return false;
  }
  address = (*match)[1];
  return true;
}

bool IntegrationRunner::State::WaitServing(StepResult& r) {
  // Ready means the health service says SERVING; bounded, no fixed sleeps.
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  const auto deadline = std::chrono::steady_clock::now() + opts.ready_timeout;
  std::string last = "no answer";
  bool serving = false;
  while (!serving && std::chrono::steady_clock::now() < deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    ctx.set_wait_for_ready(true);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status s = health->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp);
    if (s.ok() && resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      serving = true;
    } else {
      last = s.ok() ? "status " + std::to_string(resp.status())
                    : CodeName(s.error_code()) + " " + s.error_message();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (!serving) {
    r.failures.push_back("health check never said SERVING (last: " + last + ")");
    return false;
  }
  return true;
}

void IntegrationRunner::State::CheckReflection(StepResult& r) {
  // Reflection must list exactly the registered services (and health, reflection).
  DynamicClientOptions copts;
  copts.default_timeout = opts.call_timeout;
  client = DynamicClient::Connect(address, copts);
  std::set<std::string> listed;
  for (const auto& s : client->ListServices()) listed.insert(s);
  std::set<std::string> expected;
  for (const auto& s : app.services()) {
    if (config::ServiceEnabled(cfg, s->service_full_name())) {
      expected.insert(s->service_full_name());
    }
  }
  if (config::HealthEnabled(cfg)) expected.insert("grpc.health.v1.Health");
  expected.insert("grpc.reflection.v1alpha.ServerReflection");
  for (const auto& s : expected) {
    if (!listed.count(s)) r.failures.push_back("reflection does not list " + s);
  }
  for (const auto& s : listed) {
    if (!expected.count(s)) r.failures.push_back("reflection lists unexpected " + s);
  }
  server_ok = r.failures.empty();
  r.summary = "pid " + std::to_string(child_pid) + " on " + address +
              ", temporary database, healthy; reflection lists " + std::to_string(listed.size()) +
              " service(s)";
}

void IntegrationRunner::State::Server(StepResult& r) {
  if (StartServer(r) && WaitServing(r)) CheckReflection(r);
}

// 3. keys: a user with a valid, a revoked and an expiring key.
void IntegrationRunner::State::Keys(StepResult& r) {
  if (!server_ok) throw FailedPrecondition("skipped: the server did not start");
  db::DatabaseOptions dopts;
  dopts.path = db_path;
  db = std::make_unique<db::Database>(dopts);
  user = auth::CreateUser(*db, {"integration-test", "integration@example.com"});
  valid = auth::CreateApiKey(*db, user, "integration valid");
  revoked = auth::CreateApiKey(*db, user, "integration revoked");
  auth::RevokeApiKey(*db, revoked.info.id);
  expiring = auth::CreateApiKey(*db, user, "integration expiring", std::chrono::seconds(3600));
  keys_ok = true;
  r.summary = "user '" + user.username + "', 3 API keys (valid, revoked, expiring in 1 h)";
}

// Call makes one call with the example request for `method` (or an empty one).
grpc::StatusCode IntegrationRunner::State::Call(const std::string& method, bool client_streaming,
                                                const DynamicMetadata& md) {
  std::string request = client_streaming ? "[{}]" : "{}";
  if (examples.contains(method)) {
    const auto& ex = examples[method];
    request = client_streaming && !ex.is_array() ? "[" + ex.dump() + "]" : ex.dump();
  }
  return client->Call(method, request, md).code;
}

// 4. clients: every method with each kind of credential.
void IntegrationRunner::State::Clients(StepResult& r) {
  if (!keys_ok) throw FailedPrecondition("skipped: no keys");
  const std::string bad_key(64, '0');
  for (const auto& entry : methods) {
    // Not a structured binding: the `expect` lambda captures `method`, which C++17
    // does not allow for a binding (clang rejects it; gcc accepts it).
    const std::string& method = entry.first;
    const bool client_streaming = entry.second;
    const std::string service = method.substr(0, method.find('/'));
    const std::string name = method.substr(method.find('/') + 1);
    const std::string full = "/" + method;
    const bool is_public = config::IsPublicMethod(cfg, service, name);
    const bool required = config::RequireAuth(cfg, service, name) && !is_public;
    auto expect = [&](const std::string& what, grpc::StatusCode got, bool want_auth_error,
                      std::optional<int64_t> user, std::optional<int64_t> key) {
      ++checks;
      const bool auth_error = got == grpc::StatusCode::UNAUTHENTICATED;
      if (want_auth_error && !auth_error) {
        r.failures.push_back(method + " " + what + ": expected UNAUTHENTICATED, got " +
                             CodeName(got));
      } else if (!want_auth_error && IsAuthCode(got)) {
        r.failures.push_back(method + " " + what + ": expected no auth error, got " +
                             CodeName(got));
      }
      calls.push_back(
          {full, got, auth_error ? std::nullopt : user, auth_error ? std::nullopt : key});
    };
    const auto uid = user.id;
    expect("with a valid key", Call(method, client_streaming, {{"x-api-key", valid.key}}), false,
           uid, valid.info.id);
    expect("with the key as a Bearer token",
           Call(method, client_streaming, {{"authorization", "Bearer " + valid.key}}), false, uid,
           valid.info.id);
    expect("without a key", Call(method, client_streaming, {}), required, std::nullopt,
           std::nullopt);
    if (!is_public) {
      expect("with an invalid key", Call(method, client_streaming, {{"x-api-key", bad_key}}), true,
             std::nullopt, std::nullopt);
      expect("with a revoked key", Call(method, client_streaming, {{"x-api-key", revoked.key}}),
             true, std::nullopt, std::nullopt);
      if (!cfg.secret_key().empty()) {
        const bool accepted = cfg.auth().accept_secret_key();
        expect(accepted ? "with the secret key (accepted)" : "with the secret key (refused)",
               Call(method, client_streaming, {{"x-api-key", cfg.secret_key()}}), !accepted,
               std::nullopt, std::nullopt);
      }
    }
  }
  r.summary = std::to_string(methods.size()) + " method(s), " + std::to_string(checks) +
              " calls as expected";
  if (!r.failures.empty()) {
    r.summary =
        std::to_string(r.failures.size()) + " of " + std::to_string(checks) + " calls wrong";
  }
}

// 5. logs (server status first: the expiry check moves the child's clock).
void IntegrationRunner::State::CheckServerStatus(StepResult& r) {
  // Server status: running, heartbeat fresh.
  const auto interval = config::HeartbeatInterval(cfg);
  auto rows = db->Query("SELECT status, last_heartbeat FROM rpcforge_serverstatus WHERE pid = ?",
                        {db::Value(static_cast<int64_t>(child_pid))});
  if (rows.size() != 1) {
    r.failures.push_back("expected 1 server-status row for pid " + std::to_string(child_pid) +
                         ", found " + std::to_string(rows.size()));
  } else {
    if (rows[0]["status"].AsText() != "running") {
      r.failures.push_back("server status is '" + rows[0]["status"].AsText() +
                           "', expected 'running'");
    }
    Clock::TimePoint hb{};
    if (rows[0]["last_heartbeat"].is_null() ||
        !ParseTimestamp(rows[0]["last_heartbeat"].AsText(), &hb)) {
      r.failures.push_back("server status has no heartbeat");
    } else if (Clock::Real().Now() - hb > 3 * interval) {
      r.failures.push_back("server heartbeat is stale");
    }
  }
}

void IntegrationRunner::State::CallWithExpiredKeys(StepResult& r) {
  // Expired key: move the child's clock past the key's expiry (libfaketime).
  child->SetOffset(std::chrono::hours(2));
  for (const auto& [method, client_streaming] : methods) {
    const std::string service = method.substr(0, method.find('/'));
    if (config::IsPublicMethod(cfg, service, method.substr(method.find('/') + 1))) continue;
    auto got = Call(method, client_streaming, {{"x-api-key", expiring.key}});
    ++checks;
    if (got != grpc::StatusCode::UNAUTHENTICATED) {
      r.failures.push_back(method +
                           " with an expired key (clock +2 h): expected "
                           "UNAUTHENTICATED, got " +
                           CodeName(got));
    }
    calls.push_back({"/" + method, got, std::nullopt, std::nullopt});
  }
  child->SetOffset(std::chrono::seconds(0));
}

void IntegrationRunner::State::CheckLogRows(StepResult& r) {
  // Exactly one row per call, bounded wait for the write-behind queue.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int64_t count = 0;
  for (int i = 0; i < 500; ++i) {
    count = db->Query("SELECT COUNT(*) AS n FROM rpcforge_requestlog")[0]["n"].AsInt();
    if (count >= static_cast<int64_t>(calls.size()) ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (count != static_cast<int64_t>(calls.size())) {
    r.failures.push_back("expected " + std::to_string(calls.size()) +
                         " request log rows (one per call), found " + std::to_string(count));
  }
  std::multiset<std::string> expected, actual;
  auto key = [](const std::string& m, const std::string& code, const std::string& user,
                const std::string& api_key) {
    return m + " " + code + " user=" + user + " key=" + api_key;
  };
  for (const auto& c : calls) {
    expected.insert(key(c.full_method, CodeName(c.code),
                        c.user_id ? std::to_string(*c.user_id) : "-",
                        c.api_key_id ? std::to_string(*c.api_key_id) : "-"));
  }
  int bad_durations = 0;
  for (const auto& row : db->Query("SELECT full_method, code, user_id, api_key_id, "
                                   "duration_ms FROM rpcforge_requestlog")) {
    actual.insert(
        key(row["full_method"].AsText(), row["code"].AsText(),
            row["user_id"].is_null() ? "-" : std::to_string(row["user_id"].AsInt()),
            row["api_key_id"].is_null() ? "-" : std::to_string(row["api_key_id"].AsInt())));
    if (row["duration_ms"].is_null() || row["duration_ms"].AsDouble() <= 0) ++bad_durations;
  }
  std::multiset<std::string> missing, extra;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::inserter(missing, missing.begin()));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::inserter(extra, extra.begin()));
  for (const auto& m : missing) r.failures.push_back("no log row for call: " + m);
  for (const auto& x : extra) r.failures.push_back("log row matches no call: " + x);
  if (bad_durations > 0) {
    r.failures.push_back(std::to_string(bad_durations) + " log row(s) without a positive duration");
  }
  r.summary = std::to_string(count) + " request log row(s) for " + std::to_string(calls.size()) +
              " call(s); server status running";
}

void IntegrationRunner::State::Logs(StepResult& r) {
  if (!keys_ok) throw FailedPrecondition("skipped: no keys");
  CheckServerStatus(r);
  CallWithExpiredKeys(r);
  CheckLogRows(r);
}

// 6. cleanup (always): stop the server, check it said so, remove the directory.
void IntegrationRunner::State::Cleanup(StepResult& r) {
  client.reset();  // its reflection stream is an open call the server would wait for
  if (child) {
    ExitStatus exit = child->Terminate(SIGTERM, std::chrono::seconds(30));
    if (!exit.success()) {
      r.failures.push_back("after SIGTERM the server " + exit.ToString() + ", expected exit 0");
    }
    if (db) {
      auto rows = db->Query("SELECT status FROM rpcforge_serverstatus WHERE pid = ?",
                            {db::Value(static_cast<int64_t>(child_pid))});
      if (rows.empty() || rows[0]["status"].AsText() != "stopped") {
        r.failures.push_back("server status is not 'stopped' after shutdown");
      }
    }
  }
  db.reset();
  client.reset();
  if (!dir.empty()) {
    if (opts.keep) {
      r.summary = "SIGTERM, exit 0; kept " + dir.string();
    } else {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      if (ec) r.failures.push_back("cannot remove " + dir.string() + ": " + ec.message());
      r.summary = "SIGTERM, exit 0, status stopped, temporary database removed";
    }
  } else {
    r.summary = "nothing to clean up";
  }
}

int IntegrationRunner::Run(std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  State st(app_, config_, options_);
  st.binary = options_.binary.empty() ? cli_internal::SelfPath() : options_.binary;

  // Each step appends its result and prints its line as soon as it ends.
  auto step = [&](const std::string& name, void (State::*body)(StepResult&)) {
    StepResult r;
    r.name = name;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      (st.*body)(r);
    } catch (const Error& e) {
      r.failures.push_back(e.message());
    } catch (const std::exception& e) {
      r.failures.push_back(e.what());
    }
    r.ok = r.failures.empty();
    r.seconds = Seconds(std::chrono::steady_clock::now() - t0).count();
    if (!r.ok || !options_.quiet) {
      out << (r.ok ? "\xE2\x9C\x93 " : "\xE2\x9C\x97 ") << r.name << ": " << r.summary;
      char t[32];
      std::snprintf(t, sizeof(t), " (%.2f s)", r.seconds);
      out << t << "\n";
      for (const auto& f : r.failures) out << "    " << f << "\n";
      out.flush();
    }
    results_.push_back(r);
  };
  step("descriptors", &State::Descriptors);
  step("server", &State::Server);
  step("keys", &State::Keys);
  step("clients", &State::Clients);
  step("logs", &State::Logs);
  step("cleanup", &State::Cleanup);

  const double total = Seconds(std::chrono::steady_clock::now() - start).count();
  const auto passed =
      std::count_if(results_.begin(), results_.end(), [](const StepResult& r) { return r.ok; });
  char line[96];
  std::snprintf(line, sizeof(line), "%d/%zu steps passed in %.2f s\n", static_cast<int>(passed),
                results_.size(), total);
  out << line;
  if (!options_.junit_file.empty()) {
    WriteJUnit(options_.junit_file, "rpcforge integration: " + app_.name(), results_, total);
  }
  return passed == static_cast<long>(results_.size()) ? 0 : 1;
}

void WriteJUnit(const std::string& path, const std::string& suite,
                const std::vector<StepResult>& results, double total_seconds) {
  std::ofstream out(path);
  if (!out) throw InvalidArgument("cannot write JUnit file " + path);
  int failures = 0;
  for (const auto& r : results) failures += r.ok ? 0 : 1;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites tests=\"" << results.size() << "\" failures=\"" << failures << "\" time=\""
      << total_seconds << "\">\n"
      << "  <testsuite name=\"" << XmlEscape(suite) << "\" tests=\"" << results.size()
      << "\" failures=\"" << failures << "\" errors=\"0\" time=\"" << total_seconds << "\">\n";
  for (const auto& r : results) {
    out << "    <testcase classname=\"" << XmlEscape(suite) << "\" name=\"" << XmlEscape(r.name)
        << "\" time=\"" << r.seconds << "\">\n";
    if (!r.ok) {
      out << "      <failure message=\""
          << XmlEscape(r.failures.empty() ? r.summary : r.failures[0]) << "\">"
          << XmlEscape(Join(r.failures, "\n")) << "</failure>\n";
    }
    out << "      <system-out>" << XmlEscape(r.summary) << "</system-out>\n"
        << "    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
}

}  // namespace rpcforge::testing
