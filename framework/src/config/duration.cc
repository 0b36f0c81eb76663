// SPDX-License-Identifier: Apache-2.0
#include <cctype>
#include <cstdint>

#include "config/internal.h"
#include "rpcforge/config/config.h"

namespace rpcforge::config {
namespace {

__extension__ typedef unsigned __int128 Uint128;

constexpr uint64_t kNanosPerSecond = 1000000000ULL;
// google.protobuf.Duration's documented range: +-10,000 years.
constexpr uint64_t kMaxSeconds = 315576000000ULL;

bool UnitNanos(std::string_view unit, uint64_t* nanos) {
  struct Unit {
    const char* name;
    uint64_t nanos;
  };
  static constexpr Unit kUnits[] = {{"ns", 1},
                                    {"us", 1000},
                                    {"ms", 1000000},
                                    {"s", kNanosPerSecond},
                                    {"m", 60 * kNanosPerSecond},
                                    {"h", 3600 * kNanosPerSecond},
                                    {"d", 86400 * kNanosPerSecond}};
  for (const Unit& u : kUnits) {
    if (unit == u.name) {
      *nanos = u.nanos;
      return true;
    }
  }
  return false;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool ParseDuration(std::string_view text, google::protobuf::Duration* out, std::string* error) {
  using config_internal::Quote;
  const std::string generic =
      "expected a duration like \"30s\", \"1.5s\", \"500ms\", \"2m\", \"1h\", got " + Quote(text);
  if (!text.empty() && text[0] == '-') {
    *error = "durations cannot be negative, got " + Quote(text);
    return false;
  }
  if (text == "0") {
    out->Clear();
    return true;
  }
  Uint128 total = 0;
  size_t i = 0;
  if (text.empty()) {
    *error = generic;
    return false;
  }
  while (i < text.size()) {
    size_t start = i;
    uint64_t whole = 0;
    bool overflow = false;
    while (i < text.size() && IsDigit(text[i])) {
      if (whole > 1000000000000000000ULL) overflow = true;
      whole = whole * 10 + static_cast<uint64_t>(text[i] - '0');
      ++i;
    }
    Uint128 fraction = 0, scale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && IsDigit(text[i])) {
        if (scale < static_cast<Uint128>(1000000000000000000ULL)) {
          fraction = fraction * 10 + static_cast<unsigned>(text[i] - '0');
          scale *= 10;
        }
        ++i;
      }
    }
    std::string_view number = text.substr(start, i - start);
    if (number.empty() || number == ".") {
      *error = generic;
      return false;
    }
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      *error = i == text.size() && start == 0
                   ? Quote(text) + " needs a unit, e.g. \"" + std::string(text) + "s\""
                   : generic;
      return false;
    }
    uint64_t nanos = 0;
    if (!UnitNanos(unit, &nanos)) {
      *error =
          "unknown unit " + Quote(unit) + " in " + Quote(text) + " (units: ns, us, ms, s, m, h, d)";
      return false;
    }
    if (overflow) {
      *error = Quote(text) + " is too large";
      return false;
    }
    total += static_cast<Uint128>(whole) * nanos + fraction * nanos / scale;
    if (total > static_cast<Uint128>(kMaxSeconds) * kNanosPerSecond) {
      *error = Quote(text) + " is too large (at most 10000 years)";
      return false;
    }
  }
  out->set_seconds(static_cast<int64_t>(total / kNanosPerSecond));
  out->set_nanos(static_cast<int32_t>(total % kNanosPerSecond));
  return true;
}

std::string FormatDuration(const google::protobuf::Duration& d) {
  if (d.seconds() < 0 || d.nanos() < 0) {
    google::protobuf::Duration positive;
    positive.set_seconds(-d.seconds());
    positive.set_nanos(-d.nanos());
    return "-" + FormatDuration(positive);
  }
  if (d.seconds() == 0) {
    int64_t n = d.nanos();
    if (n == 0) return "0s";
    if (n % 1000000 == 0) return std::to_string(n / 1000000) + "ms";
    if (n % 1000 == 0) return std::to_string(n / 1000) + "us";
    return std::to_string(n) + "ns";
  }
  int64_t s = d.seconds();
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  s %= 3600;
  if (s >= 60) out += std::to_string(s / 60) + "m";
  s %= 60;
  if (s != 0 || d.nanos() != 0) {
    std::string frac;
    if (d.nanos() != 0) {
      frac = std::to_string(1000000000 + d.nanos()).substr(1);  // 9 digits
      while (frac.back() == '0') frac.pop_back();
      frac = "." + frac;
    }
    out += std::to_string(s) + frac + "s";
  }
  return out;
}

std::chrono::milliseconds ToMillis(const google::protobuf::Duration& d) {
  return std::chrono::milliseconds(d.seconds() * 1000 + d.nanos() / 1000000);
}

}  // namespace rpcforge::config
