// SPDX-License-Identifier: Apache-2.0
// The journal form of a request-log row (rpcforge/db/journal.h): what `serve` appends
// before answering and what a replay turns back into a row.
#include <cstring>
#include <string>
#include <string_view>

#include "rpcforge/logging/request_log.h"

namespace rpcforge::logging {

// --- Journal form -----------------------------------------------------------------------

namespace {

// A flat little-endian form: strings and optionals carry a length or a presence byte.
class Encoder {
 public:
  explicit Encoder(size_t reserve) { out_.reserve(reserve); }
  void Int(uint64_t v) {
    char bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(v >> (8 * i));
    out_.append(bytes, sizeof bytes);
  }
  void Text(std::string_view s) {
    Int(s.size());
    out_.append(s.data(), s.size());
  }
  void Double(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    Int(bits);
  }
  template <class T>
  void Optional(const std::optional<T>& v) {
    out_ += static_cast<char>(v ? 1 : 0);
    Int(v ? static_cast<uint64_t>(*v) : 0);
  }
  void Time(Clock::TimePoint t) {
    Int(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count()));
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool Int(uint64_t* v) {
    if (in_.size() - at_ < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i)
      *v |= static_cast<uint64_t>(static_cast<unsigned char>(in_[at_ + i])) << (8 * i);
    at_ += 8;
    return true;
  }
  bool Text(std::string* s) {
    uint64_t n;
    if (!Int(&n) || n > in_.size() - at_) return false;
    s->assign(in_.data() + at_, n);
    at_ += n;
    return true;
  }
  bool Double(double* d) {
    uint64_t bits;
    if (!Int(&bits)) return false;
    std::memcpy(d, &bits, sizeof bits);
    return true;
  }
  template <class T>
  bool Optional(std::optional<T>* v) {
    if (at_ >= in_.size()) return false;
    const bool present = in_[at_++] != 0;
    uint64_t raw;
    if (!Int(&raw)) return false;
    if (present) *v = static_cast<T>(raw);
    return true;
  }
  bool Time(Clock::TimePoint* t) {
    uint64_t us;
    if (!Int(&us)) return false;
    *t = Clock::TimePoint(std::chrono::microseconds(static_cast<int64_t>(us)));
    return true;
  }
  bool Done() const { return at_ == in_.size(); }

 private:
  std::string_view in_;
  size_t at_ = 0;
};

}  // namespace

std::string EncodeRequestLogEntry(const RequestLogEntry& e) {
  // Eleven 8-byte fields, three presence bytes, nine texts each after an 8-byte length.
  Encoder out(11 * 8 + 3 + 9 * 8 + e.request_id.size() + e.service.size() + e.method.size() +
              e.full_method.size() + e.status.size() + e.code.size() + e.error_message.size() +
              e.peer.size() + e.peer_host.size());
  out.Text(e.request_id);
  out.Text(e.service);
  out.Text(e.method);
  out.Text(e.full_method);
  out.Text(e.status);
  out.Text(e.code);
  out.Text(e.error_message);
  out.Double(e.duration_ms);
  out.Optional(e.user_id);
  out.Optional(e.api_key_id);
  out.Int(e.is_authenticated ? 1 : 0);
  out.Text(e.peer);
  out.Text(e.peer_host);
  out.Optional(e.peer_port);
  out.Int(e.request_messages);
  out.Int(e.response_messages);
  out.Int(e.request_size);
  out.Int(e.response_size);
  out.Time(e.created_at);
  out.Time(e.completed_at);
  return out.Take();
}

bool DecodeRequestLogEntry(std::string_view bytes, RequestLogEntry* e) {
  Decoder in(bytes);
  uint64_t authenticated = 0;
  const bool ok =
      in.Text(&e->request_id) && in.Text(&e->service) && in.Text(&e->method) &&
      in.Text(&e->full_method) && in.Text(&e->status) && in.Text(&e->code) &&
      in.Text(&e->error_message) && in.Double(&e->duration_ms) && in.Optional(&e->user_id) &&
      in.Optional(&e->api_key_id) && in.Int(&authenticated) && in.Text(&e->peer) &&
      in.Text(&e->peer_host) && in.Optional(&e->peer_port) && in.Int(&e->request_messages) &&
      in.Int(&e->response_messages) && in.Int(&e->request_size) && in.Int(&e->response_size) &&
      in.Time(&e->created_at) && in.Time(&e->completed_at) && in.Done();
  e->is_authenticated = authenticated != 0;
  return ok;
}

}  // namespace rpcforge::logging
