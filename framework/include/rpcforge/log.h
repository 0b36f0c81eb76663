// SPDX-License-Identifier: Apache-2.0
// The framework's log: one line per event on stderr, through spdlog, at a level set by
// config (`logging.level`) or `--log-level`. Tests capture lines with AddSink
// (rpcforge::testing::LogCapture wraps it).
//
//   rpcforge::log::SetLevel(rpcforge::log::Level::kDebug);
//   rpcforge::log::Write(rpcforge::log::Level::kInfo, "hello");
#ifndef RPCFORGE_LOG_H_
#define RPCFORGE_LOG_H_

#include <functional>
#include <string>
#include <string_view>

#include "rpcforge/export.h"

namespace rpcforge::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// Format of the lines written to stderr.
enum class Format { kText, kJson };

// SetLevel sets the minimum level written to stderr and to sinks. Thread-safe.
RPCFORGE_EXPORT void SetLevel(Level level);
RPCFORGE_EXPORT Level GetLevel();

RPCFORGE_EXPORT const char* LevelName(Level level);

// SetFormat switches stderr output between text and one JSON object per line.
RPCFORGE_EXPORT void SetFormat(Format format);

// Write logs `message` at `level` under the logger `component` ("server", "db", ...).
// Thread-safe; never throws.
RPCFORGE_EXPORT void Write(Level level, std::string_view message,
                           std::string_view component = "rpcforge") noexcept;

// ShouldLog is true when a message at `level` would be written anywhere.
RPCFORGE_EXPORT bool ShouldLog(Level level) noexcept;

// CallFields are the fields JSON lines logged during one call carry beside time, level,
// logger and message (the dispatcher's: method, peer, request_id, duration_ms so far).
// Append is called only when a JSON line is written, on the logging thread; it appends
// `,"key":value` pairs with AppendJsonField.
class RPCFORGE_EXPORT CallFields {
 public:
  virtual ~CallFields() = default;
  virtual void Append(std::string* json) const = 0;
};

// CallScope makes `fields` this thread's call fields for its lifetime (nests; the
// innermost applies). `fields` must outlive it.
class RPCFORGE_EXPORT CallScope {
 public:
  explicit CallScope(const CallFields* fields);
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  const CallFields* saved_;
};

// AppendJsonField appends `,"key":"value"` (value JSON-escaped) or, for a number,
// `,"key":value`.
RPCFORGE_EXPORT void AppendJsonField(std::string* json, std::string_view key,
                                     std::string_view value);
RPCFORGE_EXPORT void AppendJsonField(std::string* json, std::string_view key, double value);

// A Sink receives every line written at or above the current level, on the writing
// thread. It must be thread-safe and must not log itself.
struct Record {
  Level level;
  std::string component;
  std::string message;
};
using Sink = std::function<void(const Record&)>;

// AddSink registers `sink` until RemoveSink(id). Returns the id. Thread-safe.
RPCFORGE_EXPORT int AddSink(Sink sink);
RPCFORGE_EXPORT void RemoveSink(int id);

}  // namespace rpcforge::log

#endif  // RPCFORGE_LOG_H_
