// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/testing/log_capture.h"

namespace rpcforge::testing {

LogCapture::LogCapture() : min_level_(log::Level::kTrace) { Init(); }

LogCapture::LogCapture(log::Level min_level) : min_level_(min_level) {
  log::Level current = log::GetLevel();
  if (min_level < current) {
    restore_level_ = current;
    log::SetLevel(min_level);
  }
  Init();
}

void LogCapture::Init() {
  // The sink runs on the logging thread under the log's own lock: it only appends.
  sink_id_ = log::AddSink([this](const log::Record& record) {
    if (record.level < min_level_) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      records_.push_back(record);
    }
    cv_.notify_all();
  });
}

LogCapture::~LogCapture() {
  log::RemoveSink(sink_id_);
  if (restore_level_) log::SetLevel(*restore_level_);
}

std::vector<log::Record> LogCapture::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}

std::string LogCapture::FormatLine(const log::Record& record) {
  return std::string(log::LevelName(record.level)) + " [" + record.component + "] " +
         record.message;
}

std::vector<std::string> LogCapture::lines() const {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> lock(mu_);
  out.reserve(records_.size());
  for (const auto& r : records_) out.push_back(FormatLine(r));
  return out;
}

std::vector<std::string> LogCapture::messages() const {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> lock(mu_);
  out.reserve(records_.size());
  for (const auto& r : records_) out.push_back(r.message);
  return out;
}

bool LogCapture::Contains(std::string_view substr) const {
  for (const auto& line : lines()) {
    if (line.find(substr) != std::string::npos) return true;
  }
  return false;
}

std::optional<std::string> LogCapture::WaitFor(std::string_view substr,
                                               std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  size_t checked = 0;
  while (true) {
    for (; checked < records_.size(); ++checked) {
      std::string line = FormatLine(records_[checked]);
      if (line.find(substr) != std::string::npos) return line;
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      // One last look at whatever arrived with the timeout.
      for (; checked < records_.size(); ++checked) {
        std::string line = FormatLine(records_[checked]);
        if (line.find(substr) != std::string::npos) return line;
      }
      return std::nullopt;
    }
  }
}

void LogCapture::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  records_.clear();
}

}  // namespace rpcforge::testing
