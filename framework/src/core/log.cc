// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "rpcforge/clock.h"

namespace rpcforge::log {
namespace {

struct State {
  std::atomic<Level> level{Level::kInfo};
  std::atomic<Format> format{Format::kText};
  std::mutex mu;  // guards sinks, next_id and the stderr writes
  std::map<int, Sink> sinks;
  std::atomic<int> sink_count{0};
  int next_id = 1;
};

State& GetState() {
  static State* state = new State();  // never destroyed: logging works during exit
  return *state;
}

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kTrace:
      return spdlog::level::trace;
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

spdlog::logger& Logger() {
  static spdlog::logger* logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto* l = new spdlog::logger("rpcforge", sink);
    l->set_level(spdlog::level::trace);
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);
    return l;
  }();
  return *logger;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace

void SetLevel(Level level) { GetState().level.store(level); }
Level GetLevel() { return GetState().level.load(); }

const char* LevelName(Level level) {
  switch (level) {
    case Level::kTrace:
      return "trace";
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "info";
}

void SetFormat(Format format) { GetState().format.store(format); }

namespace {
thread_local const CallFields* t_call_fields = nullptr;
}  // namespace

CallScope::CallScope(const CallFields* fields) : saved_(t_call_fields) { t_call_fields = fields; }
CallScope::~CallScope() { t_call_fields = saved_; }

void AppendJsonField(std::string* json, std::string_view key, std::string_view value) {
  *json += ",\"" + JsonEscape(key) + "\":\"" + JsonEscape(value) + "\"";
}

void AppendJsonField(std::string* json, std::string_view key, double value) {
  char number[32];
  std::snprintf(number, sizeof(number), "%.3f", value);
  *json += ",\"" + JsonEscape(key) + "\":" + number;
}

bool ShouldLog(Level level) noexcept {
  return level != Level::kOff && level >= GetState().level.load(std::memory_order_relaxed);
}

void Write(Level level, std::string_view message, std::string_view component) noexcept {
  if (!ShouldLog(level)) return;
  State& state = GetState();
  try {
    if (state.format.load() == Format::kJson) {
      std::string line = "{\"time\":\"" + FormatTimestamp(Clock::Real().Now()) + "\",\"level\":\"" +
                         LevelName(level) + "\",\"logger\":\"" + JsonEscape(component) +
                         "\",\"message\":\"" + JsonEscape(message) + "\"";
      if (t_call_fields != nullptr) t_call_fields->Append(&line);
      line += "}\n";
      std::lock_guard<std::mutex> lock(state.mu);
      std::fwrite(line.data(), 1, line.size(), stderr);
      std::fflush(stderr);
    } else {
      Logger().log(ToSpd(level), "[{}] {}", component, message);
    }
    if (state.sink_count.load() > 0) {
      Record record{level, std::string(component), std::string(message)};
      std::lock_guard<std::mutex> lock(state.mu);
      for (auto& [id, sink] : state.sinks) sink(record);
    }
  } catch (...) {
    // Logging must never take the caller down.
  }
}

int AddSink(Sink sink) {
  State& state = GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  int id = state.next_id++;
  state.sinks.emplace(id, std::move(sink));
  state.sink_count.fetch_add(1);
  return id;
}

void RemoveSink(int id) {
  State& state = GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  if (state.sinks.erase(id) > 0) state.sink_count.fetch_sub(1);
}

}  // namespace rpcforge::log
