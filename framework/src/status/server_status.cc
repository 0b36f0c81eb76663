// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/status/server_status.h"

#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/logging.h"
#include "rpcforge/app.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/server/server.h"

namespace rpcforge::status {
namespace {

std::string ServicesJson(const std::vector<ServiceDescription>& services) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : services) {
    list.push_back({{"name", s.name}, {"methods", s.methods}});
  }
  return list.dump();
}

std::vector<ServiceDescription> ParseServices(const std::string& text) {
  std::vector<ServiceDescription> out;
  nlohmann::json list = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array()) return out;
  for (const auto& item : list) {
    ServiceDescription s;
    if (item.is_string()) {  // a plain list of names
      s.name = item.get<std::string>();
    } else if (item.is_object()) {
      s.name = item.value("name", "");
      if (item.contains("methods") && item["methods"].is_array()) {
        for (const auto& m : item["methods"]) {
          if (m.is_string()) s.methods.push_back(m.get<std::string>());
        }
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<Clock::TimePoint> OptionalTime(const db::Value& v) {
  if (v.is_null()) return std::nullopt;
  return v.AsTime();
}

}  // namespace

std::string InstanceId(const std::string& host, int port, int64_t pid) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + ":" + std::to_string(pid);
}

ServerStatusReporter::ServerStatusReporter(db::Database& db, const Clock& clock,
                                           ServerStatusOptions options)
    : db_(db), clock_(clock), options_([&] {
        if (options.pid == 0) options.pid = getpid();
        if (options.heartbeat_interval.count() <= 0) {
          options.heartbeat_interval = std::chrono::seconds(30);
        }
        return options;
      }()) {
  instance_id_ = InstanceId(options_.host, options_.port, options_.pid);
}

ServerStatusReporter::~ServerStatusReporter() { StopThread(); }

std::unique_ptr<ServerStatusReporter> ServerStatusReporter::ForServer(
    db::Database& db, const Clock& clock, const Server& server, const App& app,
    const config::v1::Config* config, bool heartbeat_thread) {
  ServerStatusOptions options;
  if (server.address().empty()) {
    options.host = "inproc";
  } else {
    std::string host;
    int port = 0;
    if (config::ParseHostPort(server.address(), &host, &port)) {
      options.host = host;
      options.port = port;
    } else {
      options.host = server.address();
    }
  }
  if (options.port == 0 && server.port() != 0) options.port = server.port();
  const config::v1::Config defaults;
  options.heartbeat_interval = config::HeartbeatInterval(config ? *config : defaults);
  options.heartbeat_thread = heartbeat_thread;
  for (const std::string& name : server.registered_services()) {
    ServiceDescription d;
    d.name = name;
    for (const auto& s : app.services()) {
      if (name != s->service_full_name()) continue;
      for (const MethodInfo& m : s->methods()) d.methods.push_back(m.method);
    }
    options.services.push_back(std::move(d));
  }
  auto reporter = std::make_unique<ServerStatusReporter>(db, clock, std::move(options));
  reporter->Start();
  reporter->MarkRunning();
  return reporter;
}

bool ServerStatusReporter::Start() {
  try {
    started_at_ = clock_.Now();
    const std::string now = FormatTimestamp(started_at_);
    db::Transaction tx = db_.Atomic();
    // Rows of an earlier process on this address that never said goodbye.
    db_.Execute(
        "UPDATE \"rpcforge_serverstatus\" SET \"status\" = 'stopped', \"stopped_at\" = ?, "
        "\"error_message\" = 'replaced' WHERE \"host\" = ? AND \"port\" = ? AND "
        "\"instance_id\" != ? AND \"status\" IN ('starting', 'running', 'stopping')",
        {now, options_.host, options_.port, instance_id_});
    db_.Execute(
        "INSERT INTO \"rpcforge_serverstatus\" (\"instance_id\", \"host\", \"port\", \"pid\", "
        "\"status\", \"started_at\", \"last_heartbeat\", \"stopped_at\", \"error_message\", "
        "\"services\") VALUES (?, ?, ?, ?, 'starting', ?, NULL, NULL, '', ?) "
        "ON CONFLICT(\"instance_id\") DO UPDATE SET \"status\" = 'starting', "
        "\"started_at\" = excluded.\"started_at\", \"last_heartbeat\" = NULL, "
        "\"stopped_at\" = NULL, \"error_message\" = '', \"services\" = excluded.\"services\"",
        {instance_id_, options_.host, options_.port, options_.pid, now,
         ServicesJson(options_.services)});
    tx.Commit();
    return true;
  } catch (const std::exception& e) {
    RPCFORGE_LOG_WARN("status", "cannot record instance {}: {}", instance_id_, e.what());
    return false;
  }
}

bool ServerStatusReporter::SetStatus(const std::string& status, const std::string& message,
                                     bool stopped_at) {
  try {
    const std::string now = FormatTimestamp(clock_.Now());
    std::string sql = "UPDATE \"rpcforge_serverstatus\" SET \"status\" = ?, \"error_message\" = ?";
    std::vector<db::Value> params = {status, message};
    if (status == "running") {
      sql += ", \"last_heartbeat\" = ?";
      params.emplace_back(now);
    }
    if (stopped_at) {
      sql += ", \"stopped_at\" = ?";
      params.emplace_back(now);
    }
    sql += " WHERE \"instance_id\" = ?";
    params.emplace_back(instance_id_);
    if (db_.Execute(sql, params).changes == 0) RecreateRow(status, message, stopped_at);
    RPCFORGE_LOG_DEBUG("status", "instance {} is {}", instance_id_, status);
    return true;
  } catch (const std::exception& e) {
    RPCFORGE_LOG_WARN("status", "cannot set instance {} {}: {}", instance_id_, status, e.what());
    return false;
  }
}

bool ServerStatusReporter::MarkRunning() {
  const bool ok = SetStatus("running", "", false);
  if (options_.heartbeat_thread) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable() && !stop_) thread_ = std::thread([this] { Run(); });
  }
  return ok;
}

void ServerStatusReporter::RecreateRow(const std::string& status, const std::string& message,
                                       bool stopped_at) {
  RPCFORGE_LOG_WARN("status", "the status row of {} was deleted while it runs; writing it again",
                    instance_id_);
  const std::string now = FormatTimestamp(clock_.Now());
  db_.Execute(
      "INSERT INTO \"rpcforge_serverstatus\" (\"instance_id\", \"host\", \"port\", \"pid\", "
      "\"status\", \"started_at\", \"last_heartbeat\", \"stopped_at\", \"error_message\", "
      "\"services\") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {instance_id_, options_.host, options_.port, options_.pid, status,
       FormatTimestamp(started_at_), now, stopped_at ? db::Value(now) : db::Value(), message,
       ServicesJson(options_.services)});
}

bool ServerStatusReporter::Heartbeat() {
  try {
    const auto changed = db_.Execute(
                                "UPDATE \"rpcforge_serverstatus\" SET \"last_heartbeat\" = ? WHERE "
                                "\"instance_id\" = ?",
                                {FormatTimestamp(clock_.Now()), instance_id_})
                             .changes;
    if (changed == 0) RecreateRow("running", "", false);
    return true;
  } catch (const std::exception& e) {
    RPCFORGE_LOG_WARN("status", "heartbeat of {} failed: {}", instance_id_, e.what());
    return false;
  }
}

bool ServerStatusReporter::MarkStopping() {
  StopThread();
  return SetStatus("stopping", "", false);
}

bool ServerStatusReporter::MarkStopped() {
  StopThread();
  return SetStatus("stopped", "", true);
}

bool ServerStatusReporter::MarkError(const std::string& message) {
  StopThread();
  return SetStatus("error", message, true);
}

void ServerStatusReporter::StopThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void ServerStatusReporter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    // The interval is waited in real time; the row's times come from the clock.
    if (cv_.wait_for(lock, options_.heartbeat_interval, [&] { return stop_; })) break;
    lock.unlock();
    Heartbeat();
    lock.lock();
  }
}

bool IsRunning(const ServerInstance& instance, Clock::TimePoint now,
               std::chrono::milliseconds heartbeat_interval) {
  if (instance.status != "running" && instance.status != "starting") return false;
  const Clock::TimePoint last = instance.last_heartbeat.value_or(instance.started_at);
  return now - last < 3 * heartbeat_interval;
}

std::vector<ServerInstance> ListServerInstances(db::Database& db, const Clock& clock,
                                                std::chrono::milliseconds heartbeat_interval) {
  std::vector<ServerInstance> out;
  const Clock::TimePoint now = clock.Now();
  for (const db::Row& row :
       db.Query("SELECT \"instance_id\", \"host\", \"port\", \"pid\", \"status\", \"started_at\", "
                "\"last_heartbeat\", \"stopped_at\", \"error_message\", \"services\" FROM "
                "\"rpcforge_serverstatus\" ORDER BY \"started_at\" DESC, \"id\" DESC")) {
    ServerInstance i;
    i.instance_id = row.at(0).AsText();
    i.host = row.at(1).AsText();
    i.port = static_cast<int>(row.at(2).AsInt());
    i.pid = row.at(3).AsInt();
    i.status = row.at(4).AsText();
    i.started_at = row.at(5).AsTime();
    i.last_heartbeat = OptionalTime(row.at(6));
    i.stopped_at = OptionalTime(row.at(7));
    i.error_message = row.at(8).is_null() ? "" : row.at(8).AsText();
    i.services = ParseServices(row.at(9).is_null() ? "[]" : row.at(9).AsText());
    i.is_running = IsRunning(i, now, heartbeat_interval);
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace rpcforge::status
