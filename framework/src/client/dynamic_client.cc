// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/client/dynamic_client.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

#include "core/strings.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "rpcforge/errors.h"
#include "src/proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace rpcforge {
namespace {

namespace pb = google::protobuf;
namespace refl = grpc::reflection::v1alpha;

using Clock = std::chrono::system_clock;

// --- small helpers -----------------------------------------------------------------

std::string ReadPemFile(const std::string& path, const char* what) {
  std::string text;
  if (!strings::ReadFile(path, &text)) {
    throw InvalidArgument(std::string("cannot read the ") + what + " file '" + path +
                          "': " + std::strerror(errno));
  }
  return text;
}

// Suggest returns "; did you mean 'x'?" for the closest candidate, if close enough.
std::string Suggest(const std::string& wanted, const std::vector<std::string>& candidates) {
  const std::string best = strings::ClosestMatch(wanted, candidates);
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

using strings::Join;

bool IsBinaryKey(const std::string& key) {
  return key.size() > 4 && key.compare(key.size() - 4, 4, "-bin") == 0;
}

// AddMetadata validates and adds one entry; gRPC would otherwise fail the call with a
// bare INTERNAL (or abort) on an invalid key.
void AddMetadata(grpc::ClientContext& ctx, std::string key, const std::string& value) {
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool key_ok = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
  if (!key_ok) {
    throw InvalidArgument("invalid metadata key '" + key +
                          "': use lowercase letters, digits, '-', '_' and '.'");
  }
  if (key.rfind("grpc-", 0) == 0) {
    throw InvalidArgument("invalid metadata key '" + key + "': 'grpc-' keys are reserved");
  }
  if (!IsBinaryKey(key)) {
    for (char c : value) {
      if (c < 0x20 || c > 0x7e) {
        throw InvalidArgument("invalid value for metadata key '" + key +
                              "': only printable ASCII is allowed (use a '-bin' key for bytes)");
      }
    }
  }
  ctx.AddMetadata(key, value);
}

template <class Map>
DynamicMetadata ToMetadata(const Map& map) {
  DynamicMetadata out;
  for (const auto& [k, v] : map)
    out.emplace_back(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  return out;
}

// --- JSON stream splitting -----------------------------------------------------------

std::string Position(const std::string& text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

size_t SkipSpace(const std::string& t, size_t i) {
  while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
  return i;
}

// JsonChecker validates JSON syntax so that errors name a line and column (protobuf's
// parser only shows a snippet), and finds where each top-level value starts and ends.
class JsonChecker {
 public:
  explicit JsonChecker(const std::string& text) : t_(text) {}

  struct Piece {
    std::string text;
    size_t offset;
  };

  // One value and nothing after it.
  void Single() {
    Value(0);
    Space();
    if (i_ != t_.size()) Fail("unexpected text after the JSON value");
  }

  // The elements of a top-level array, or values one after another.
  std::vector<Piece> Stream() {
    std::vector<Piece> out;
    Space();
    if (i_ < t_.size() && t_[i_] == '[') {
      ++i_;
      Space();
      if (i_ < t_.size() && t_[i_] == ']') {
        ++i_;
      } else {
        for (;;) {
          Space();
          size_t begin = i_;
          Value(1);
          out.push_back({t_.substr(begin, i_ - begin), begin});
          Space();
          if (i_ < t_.size() && t_[i_] == ',') {
            ++i_;
            continue;
          }
          if (i_ < t_.size() && t_[i_] == ']') {
            ++i_;
            break;
          }
          Fail("expected ',' or ']'");
        }
      }
      Space();
      if (i_ != t_.size()) Fail("unexpected text after the array");
      return out;
    }
    while (i_ < t_.size()) {
      size_t begin = i_;
      Value(0);
      out.push_back({t_.substr(begin, i_ - begin), begin});
      Space();
    }
    return out;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw InvalidArgument("invalid JSON at " + Position(t_, i_) + ": " + what);
  }
  void Space() { i_ = SkipSpace(t_, i_); }
  void Expect(char c, const char* what) {
    Space();
    if (i_ >= t_.size() || t_[i_] != c) Fail(std::string("expected ") + what);
    ++i_;
  }

  void Value(int depth) {
    if (depth > 100) Fail("nested too deeply");
    Space();
    if (i_ >= t_.size()) Fail("expected a value, got the end of the input");
    const char c = t_[i_];
    if (c == '{') {
      ++i_;
      Space();
      if (i_ < t_.size() && t_[i_] == '}') {
        ++i_;
        return;
      }
      for (;;) {
        Space();
        if (i_ >= t_.size() || t_[i_] != '"') Fail("expected a field name in double quotes");
        String();
        Expect(':', "':' after the field name");
        Value(depth + 1);
        Space();
        if (i_ < t_.size() && t_[i_] == ',') {
          ++i_;
          continue;
        }
        Expect('}', "',' or '}'");
        return;
      }
    }
    if (c == '[') {
      ++i_;
      Space();
      if (i_ < t_.size() && t_[i_] == ']') {
        ++i_;
        return;
      }
      for (;;) {
        Value(depth + 1);
        Space();
        if (i_ < t_.size() && t_[i_] == ',') {
          ++i_;
          continue;
        }
        Expect(']', "',' or ']'");
        return;
      }
    }
    if (c == '"') return String();
    if (c == '-' || (c >= '0' && c <= '9')) return Number();
    for (const char* word : {"true", "false", "null"}) {
      if (t_.compare(i_, std::strlen(word), word) == 0) {
        i_ += std::strlen(word);
        return;
      }
    }
    Fail(std::string("unexpected '") + c + "'");
  }

  void String() {
    const size_t begin = i_++;
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (c == '"') {
        ++i_;
        return;
      }
      if (static_cast<unsigned char>(c) < 0x20) Fail("control character in a string");
      i_ += c == '\\' ? 2 : 1;
    }
    i_ = begin;
    Fail("unterminated string");
  }

  void Number() {
    auto digits = [&] {
      size_t start = i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
      if (i_ == start) Fail("malformed number");
    };
    if (t_[i_] == '-') ++i_;
    digits();
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      digits();
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      digits();
    }
  }

  const std::string& t_;
  size_t i_ = 0;
};

// --- reflection-backed descriptor database -------------------------------------------

// ReflectionDatabase answers the private DescriptorPool's questions with server
// reflection, caching every file the server sends (a file_descriptor_response carries
// the file and its dependencies). google/protobuf/* files the server does not send
// come from this binary's generated pool. Thread-safe (the pool calls it under its own
// lock; the client calls it directly too).
class ReflectionDatabase final : public pb::DescriptorDatabase {
 public:
  ReflectionDatabase(std::shared_ptr<grpc::Channel> channel, const DynamicClientOptions& options)
      : stub_(refl::ServerReflection::NewStub(std::move(channel))), options_(options) {}

  bool FindFileByName(const std::string& filename, pb::FileDescriptorProto* output) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (CopyCached(filename, output)) return true;
    if (filename.rfind("google/protobuf/", 0) == 0 && FromGenerated(filename, output)) {
      return true;
    }
    refl::ServerReflectionRequest req;
    req.set_file_by_filename(filename);
    if (!Fetch(req).ok()) return false;
    return CopyCached(filename, output);
  }

  bool FindFileContainingSymbol(const std::string& symbol,
                                pb::FileDescriptorProto* output) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!LoadSymbol(symbol).ok()) return false;
    return CopyCached(symbol_to_file_[symbol], output);
  }

  bool FindFileContainingExtension(const std::string& containing_type, int field_number,
                                   pb::FileDescriptorProto* output) override {
    std::lock_guard<std::mutex> lock(mu_);
    refl::ServerReflectionRequest req;
    req.mutable_file_containing_extension()->set_containing_type(containing_type);
    req.mutable_file_containing_extension()->set_extension_number(field_number);
    std::string first;
    if (!Fetch(req, &first).ok() || first.empty()) return false;
    return CopyCached(first, output);
  }

  // EnsureSymbol loads the file that defines `symbol`; the status says why not.
  grpc::Status EnsureSymbol(const std::string& symbol) {
    std::lock_guard<std::mutex> lock(mu_);
    return LoadSymbol(symbol);
  }

  grpc::Status ListServices(std::vector<std::string>* names) {
    refl::ServerReflectionRequest req;
    req.set_list_services("");
    refl::ServerReflectionResponse resp;
    grpc::Status status = Exchange(req, &resp);
    if (!status.ok()) return status;
    for (const auto& s : resp.list_services_response().service()) names->push_back(s.name());
    return grpc::Status::OK;
  }

 private:
  grpc::Status LoadSymbol(const std::string& symbol) {
    if (symbol_to_file_.count(symbol) > 0) return grpc::Status::OK;
    if (symbol.rfind("google.protobuf.", 0) == 0) {
      pb::FileDescriptorProto file;
      if (generated_.FindFileContainingSymbol(symbol, &file)) {
        Add(std::move(file));
        if (symbol_to_file_.count(symbol) > 0) return grpc::Status::OK;
      }
    }
    refl::ServerReflectionRequest req;
    req.set_file_containing_symbol(symbol);
    grpc::Status status = Fetch(req);
    if (!status.ok()) return status;
    if (symbol_to_file_.count(symbol) == 0) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "symbol not found: " + symbol);
    }
    return grpc::Status::OK;
  }

  bool CopyCached(const std::string& filename, pb::FileDescriptorProto* output) const {
    auto it = files_.find(filename);
    if (it == files_.end()) return false;
    *output = it->second;
    return true;
  }

  bool FromGenerated(const std::string& filename, pb::FileDescriptorProto* output) {
    pb::FileDescriptorProto file;
    if (!generated_.FindFileByName(filename, &file)) return false;
    *output = file;
    Add(std::move(file));
    return true;
  }

  void Add(pb::FileDescriptorProto file) {
    if (files_.count(file.name()) > 0) return;
    const std::string prefix = file.package().empty() ? "" : file.package() + ".";
    for (const auto& m : file.message_type()) IndexMessage(prefix, m, file.name());
    for (const auto& e : file.enum_type()) {
      symbol_to_file_[prefix + e.name()] = file.name();
      for (const auto& v : e.value()) symbol_to_file_[prefix + v.name()] = file.name();
    }
    for (const auto& s : file.service()) {
      symbol_to_file_[prefix + s.name()] = file.name();
      for (const auto& m : s.method()) {
        symbol_to_file_[prefix + s.name() + "." + m.name()] = file.name();
      }
    }
    for (const auto& x : file.extension()) symbol_to_file_[prefix + x.name()] = file.name();
    files_.emplace(file.name(), std::move(file));
  }

  void IndexMessage(const std::string& prefix, const pb::DescriptorProto& m,
                    const std::string& filename) {
    const std::string name = prefix + m.name();
    symbol_to_file_[name] = filename;
    for (const auto& f : m.field()) symbol_to_file_[name + "." + f.name()] = filename;
    for (const auto& n : m.nested_type()) IndexMessage(name + ".", n, filename);
    for (const auto& e : m.enum_type()) symbol_to_file_[name + "." + e.name()] = filename;
  }

  // Fetch sends one request and caches the files in the answer; `first` (optional)
  // gets the name of the first file, the one that answers the question.
  grpc::Status Fetch(const refl::ServerReflectionRequest& req, std::string* first = nullptr) {
    refl::ServerReflectionResponse resp;
    grpc::Status status = Exchange(req, &resp);
    if (!status.ok()) return status;
    for (const auto& bytes : resp.file_descriptor_response().file_descriptor_proto()) {
      pb::FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) {
        return grpc::Status(grpc::StatusCode::INTERNAL,
                            "the server sent a file descriptor that does not parse");
      }
      if (first != nullptr && first->empty()) *first = file.name();
      Add(std::move(file));
    }
    return grpc::Status::OK;
  }

  // Exchange runs one request on its own stream, bounded by the default timeout.
  grpc::Status Exchange(const refl::ServerReflectionRequest& req,
                        refl::ServerReflectionResponse* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Clock::now() + options_.default_timeout);
    for (const auto& [k, v] : options_.metadata) AddMetadata(ctx, k, v);
    auto stream = stub_->ServerReflectionInfo(&ctx);
    bool answered = stream->Write(req) && stream->Read(resp);
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    if (!answered) {
      if (!status.ok()) return status;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "reflection ended the stream without an answer");
    }
    if (resp->has_error_response()) {
      return grpc::Status(static_cast<grpc::StatusCode>(resp->error_response().error_code()),
                          resp->error_response().error_message());
    }
    return grpc::Status::OK;
  }

  std::unique_ptr<refl::ServerReflection::Stub> stub_;
  const DynamicClientOptions& options_;
  pb::DescriptorPoolDatabase generated_{*pb::DescriptorPool::generated_pool()};
  std::mutex mu_;
  std::map<std::string, pb::FileDescriptorProto> files_;
  std::map<std::string, std::string> symbol_to_file_;
};

// --- describing ----------------------------------------------------------------------

const char* KindName(bool client_streaming, bool server_streaming) {
  if (client_streaming && server_streaming) return "bidi streaming";
  if (client_streaming) return "client streaming";
  if (server_streaming) return "server streaming";
  return "unary";
}

std::string RpcLine(const pb::MethodDescriptor& m) {
  return "rpc " + m.name() + "(" + (m.client_streaming() ? "stream " : "") +
         m.input_type()->full_name() + ") returns (" + (m.server_streaming() ? "stream " : "") +
         m.output_type()->full_name() + ");";
}

std::string FieldType(const pb::FieldDescriptor& f) {
  if (f.type() == pb::FieldDescriptor::TYPE_MESSAGE ||
      f.type() == pb::FieldDescriptor::TYPE_GROUP) {
    return f.message_type()->full_name();
  }
  if (f.type() == pb::FieldDescriptor::TYPE_ENUM) return f.enum_type()->full_name();
  return f.type_name();
}

void PrintEnum(const pb::EnumDescriptor& e, const std::string& indent, std::string* out) {
  *out += indent + "enum " + e.name() + " {\n";
  for (int i = 0; i < e.value_count(); ++i) {
    *out +=
        indent + "  " + e.value(i)->name() + " = " + std::to_string(e.value(i)->number()) + ";\n";
  }
  *out += indent + "}\n";
}

void PrintField(const pb::FieldDescriptor& f, const std::string& indent, std::string* out) {
  std::string line = indent;
  if (f.is_map()) {
    const pb::Descriptor* entry = f.message_type();
    line += "map<" + FieldType(*entry->field(0)) + ", " + FieldType(*entry->field(1)) + "> ";
  } else {
    if (f.is_repeated()) {
      line += "repeated ";
    } else if (f.is_required()) {
      line += "required ";
    } else if (f.has_optional_keyword() ||
               (f.file()->syntax() == pb::FileDescriptor::SYNTAX_PROTO2 &&
                f.real_containing_oneof() == nullptr)) {
      line += "optional ";
    }
    line += FieldType(f) + " ";
  }
  line += f.name() + " = " + std::to_string(f.number()) + ";";
  if (f.json_name() != f.name()) line += "  // JSON: \"" + f.json_name() + "\"";
  *out += line + "\n";
}

void PrintMessage(const pb::Descriptor& d, const std::string& indent, std::string* out) {
  *out += indent + "message " + d.name() + " {\n";
  const std::string inner = indent + "  ";
  for (int i = 0; i < d.nested_type_count(); ++i) {
    if (!d.nested_type(i)->options().map_entry()) PrintMessage(*d.nested_type(i), inner, out);
  }
  for (int i = 0; i < d.enum_type_count(); ++i) PrintEnum(*d.enum_type(i), inner, out);
  std::set<const pb::OneofDescriptor*> printed_oneofs;
  for (int i = 0; i < d.field_count(); ++i) {
    const pb::FieldDescriptor& f = *d.field(i);
    const pb::OneofDescriptor* oneof = f.real_containing_oneof();
    if (oneof == nullptr) {
      PrintField(f, inner, out);
      continue;
    }
    if (!printed_oneofs.insert(oneof).second) continue;
    *out += inner + "oneof " + oneof->name() + " {\n";
    for (int j = 0; j < oneof->field_count(); ++j) PrintField(*oneof->field(j), inner + "  ", out);
    *out += inner + "}\n";
  }
  *out += indent + "}\n";
}

// CollectTypes gathers `d` and the messages and enums its fields use (transitively),
// top-level ones only (nested ones print inside their parent); well-known types stay
// out: their JSON forms are special and documented by protobuf.
void CollectTypes(const pb::Descriptor* d, std::vector<const void*>* seen,
                  std::vector<const pb::Descriptor*>* messages,
                  std::vector<const pb::EnumDescriptor*>* enums) {
  while (d->containing_type() != nullptr) d = d->containing_type();
  if (d->file()->package() == "google.protobuf") return;
  if (std::find(seen->begin(), seen->end(), d) != seen->end()) return;
  seen->push_back(d);
  messages->push_back(d);
  std::vector<const pb::Descriptor*> stack = {d};
  for (size_t n = 0; !stack.empty() && n < 10000; ++n) {
    const pb::Descriptor* cur = stack.back();
    stack.pop_back();
    for (int i = 0; i < cur->nested_type_count(); ++i) stack.push_back(cur->nested_type(i));
    for (int i = 0; i < cur->field_count(); ++i) {
      const pb::FieldDescriptor* f = cur->field(i);
      if (f->message_type() != nullptr) CollectTypes(f->message_type(), seen, messages, enums);
      if (const pb::EnumDescriptor* e = f->enum_type(); e != nullptr) {
        if (e->containing_type() != nullptr) {
          CollectTypes(e->containing_type(), seen, messages, enums);
        } else if (e->file()->package() != "google.protobuf" &&
                   std::find(seen->begin(), seen->end(), e) == seen->end()) {
          seen->push_back(e);
          enums->push_back(e);
        }
      }
    }
  }
}

// --- parsing JSON into requests ------------------------------------------------------

// JsonError is protobuf's message, plus the closest field names when it is about an
// unknown field ("a.b: Cannot find field." in protobuf 3.21, "has no field named" in
// older versions).
std::string JsonError(const pb::util::Status& status, const pb::Descriptor& type) {
  std::string msg(status.message());
  static const std::regex kUnknown(R"(^([A-Za-z0-9_.]+): Cannot find field)");
  static const std::regex kNoField("has no field named \"([^\"]+)\"");
  std::smatch m;
  std::string path;
  if (std::regex_search(msg, m, kUnknown) || std::regex_search(msg, m, kNoField)) {
    path = m[1].str();
  }
  if (path.empty()) return msg;
  // Walk the path to the message that lacks the last component.
  const pb::Descriptor* d = &type;
  size_t start = 0;
  for (size_t dot = path.find('.'); dot != std::string::npos && d != nullptr;
       dot = path.find('.', start)) {
    const std::string part = path.substr(start, dot - start);
    const pb::FieldDescriptor* f = d->FindFieldByName(part);
    for (int i = 0; f == nullptr && i < d->field_count(); ++i) {
      if (d->field(i)->json_name() == part) f = d->field(i);
    }
    d = f != nullptr ? f->message_type() : nullptr;
    start = dot + 1;
  }
  if (d == nullptr) return msg;
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) {
    names.push_back(d->field(i)->json_name());
    if (d->field(i)->json_name() != d->field(i)->name()) names.push_back(d->field(i)->name());
  }
  std::string suggestion = Suggest(path.substr(start), names);
  if (suggestion.empty()) suggestion = "; " + d->full_name() + " has: " + Join(names);
  return msg + suggestion;
}

std::unique_ptr<pb::Message> ParseRequest(pb::MessageFactory& factory, const pb::Descriptor& type,
                                          const std::string& json, const std::string& where) {
  std::unique_ptr<pb::Message> msg(factory.GetPrototype(&type)->New());
  pb::util::JsonParseOptions opts;
  pb::util::Status s;
  try {
    s = pb::util::JsonStringToMessage(json, msg.get(), opts);
  } catch (const pb::FatalException& e) {
    // protobuf 3.21's JSON parser fails an internal CHECK (which throws) instead of
    // returning an error for some inputs, e.g. a google.protobuf.Any holding a
    // well-known type with a key besides "@type" and "value".
    std::string check = e.message();
    while (!check.empty() && (check.back() == ' ' || check.back() == ':')) check.pop_back();
    throw InvalidArgument("invalid JSON for " + type.full_name() + where +
                          ": protobuf's JSON parser rejected it (" + check +
                          "); an Any of a well-known type holds only \"@type\" and \"value\"");
  }
  if (!s.ok()) {
    throw InvalidArgument("invalid JSON for " + type.full_name() + where + ": " +
                          JsonError(s, type));
  }
  return msg;
}

// BuildRequests is client_internal::BuildRequests with the factory that makes the
// request messages (the client's, over its reflection-backed pool).
std::vector<std::string> BuildRequests(pb::MessageFactory& factory, const pb::MethodDescriptor& m,
                                       const std::string& json) {
  const pb::Descriptor& type = *m.input_type();
  std::vector<std::string> out;
  if (!m.client_streaming()) {
    size_t start = SkipSpace(json, 0);
    if (start < json.size() && json[start] == '[') {
      throw InvalidArgument(m.full_name() +
                            " takes one request message (a JSON object), not an array");
    }
    std::string text = start == json.size() ? "{}" : json;
    JsonChecker(text).Single();
    out.push_back(ParseRequest(factory, type, text, "")->SerializeAsString());
    return out;
  }
  std::vector<JsonChecker::Piece> pieces = JsonChecker(json).Stream();
  for (size_t i = 0; i < pieces.size(); ++i) {
    const std::string where =
        " (request #" + std::to_string(i + 1) + " at " + Position(json, pieces[i].offset) + ")";
    out.push_back(ParseRequest(factory, type, pieces[i].text, where)->SerializeAsString());
  }
  return out;
}

}  // namespace

namespace client_internal {

std::vector<std::string> BuildRequests(const pb::MethodDescriptor& method,
                                       const std::string& json_request) {
  pb::DynamicMessageFactory factory;
  // Generated types (e.g. google.protobuf.Timestamp) stay generated, as in the client.
  factory.SetDelegateToGeneratedFactory(true);
  return rpcforge::BuildRequests(factory, method, json_request);
}

}  // namespace client_internal

// --- DynamicCallResult ---------------------------------------------------------------

std::string DynamicCallResult::ErrorText() const {
  if (ok()) return "";
  std::string out = std::string(StatusCodeName(code)) + ": " + message + "\n";
  if (!field_violations.empty()) {
    out += "  field violations:\n";
    for (const auto& v : field_violations) out += "    " + v.field + ": " + v.description + "\n";
  }
  for (const auto& d : details) {
    if (d.type == "google.rpc.BadRequest") continue;
    out += "  " + d.type + ": " + (d.json.empty() ? "(unknown type)" : d.json) + "\n";
  }
  return out;
}

// --- DynamicClient -------------------------------------------------------------------

struct DynamicClient::Impl {
  Impl(std::shared_ptr<grpc::Channel> ch, DynamicClientOptions opts, std::string tgt)
      : channel(std::move(ch)),
        options(std::move(opts)),
        target(std::move(tgt)),
        db(channel, options),
        pool(&db),
        generic(channel) {}

  std::shared_ptr<grpc::Channel> channel;
  DynamicClientOptions options;
  std::string target;
  ReflectionDatabase db;
  pb::DescriptorPool pool;
  pb::DynamicMessageFactory factory{&pool};
  grpc::GenericStub generic;

  [[noreturn]] void ThrowReflectionError(const grpc::Status& s, const std::string& what) const {
    const std::string detail = s.error_message();
    switch (s.error_code()) {
      case grpc::StatusCode::UNAVAILABLE:
        throw Unavailable("cannot reach " + target + ": " + detail);
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        throw DeadlineExceeded("no answer from " + target + " within " +
                               std::to_string(options.default_timeout.count()) + " ms (" + what +
                               ")");
      case grpc::StatusCode::UNIMPLEMENTED:
        throw Unimplemented(target +
                            " does not offer server reflection "
                            "(grpc.reflection.v1alpha.ServerReflection); turn it on "
                            "(rpcforge: server.reflection: true)");
      default:
        throw Error(s.error_code(),
                    what + " failed: " + StatusCodeName(s.error_code()) + ": " + detail);
    }
  }

  std::vector<std::string> ListServices() {
    std::vector<std::string> names;
    grpc::Status s = db.ListServices(&names);
    if (!s.ok()) ThrowReflectionError(s, "listing services");
    std::sort(names.begin(), names.end());
    return names;
  }

  const pb::ServiceDescriptor& FindService(const std::string& name) {
    if (name.empty()) throw InvalidArgument("empty service name; expected pkg.Service");
    grpc::Status s = db.EnsureSymbol(name);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      std::vector<std::string> services = ListServices();
      std::string suggestion = Suggest(name, services);
      throw NotFound("unknown service '" + name + "'" +
                     (suggestion.empty() ? "; the server offers: " + Join(services) : suggestion));
    }
    if (!s.ok()) ThrowReflectionError(s, "loading descriptors for " + name);
    const pb::ServiceDescriptor* service = pool.FindServiceByName(name);
    if (service == nullptr) {
      if (pool.FindFileContainingSymbol(name) == nullptr) {
        throw Internal("the descriptors of '" + name +
                       "' the server sent do not build (a dependency may be missing)");
      }
      std::vector<std::string> services = ListServices();
      throw NotFound("'" + name + "' is not a service; the server offers: " + Join(services));
    }
    return *service;
  }

  const pb::MethodDescriptor& FindMethod(const std::string& full) {
    std::string text = full;
    if (!text.empty() && text[0] == '/') text.erase(0, 1);
    size_t cut = text.rfind('/');
    if (cut == std::string::npos) cut = text.rfind('.');
    if (cut == std::string::npos || cut == 0 || cut + 1 == text.size()) {
      throw InvalidArgument("malformed method name '" + full + "'; expected pkg.Service/Method");
    }
    const pb::ServiceDescriptor& service = FindService(text.substr(0, cut));
    const std::string name = text.substr(cut + 1);
    if (const pb::MethodDescriptor* m = service.FindMethodByName(name)) return *m;
    std::vector<std::string> names;
    for (int i = 0; i < service.method_count(); ++i) names.push_back(service.method(i)->name());
    std::string suggestion = Suggest(name, names);
    throw NotFound("unknown method '" + name + "' in service " + service.full_name() +
                   (suggestion.empty() ? "; its methods: " + Join(names) : suggestion));
  }

  std::string ToJson(const pb::Message& msg) const {
    pb::util::JsonPrintOptions opts;
    opts.add_whitespace = options.pretty;
    opts.always_print_primitive_fields = options.emit_defaults;
    opts.preserve_proto_field_names = options.proto_field_names;
    std::string out;
    pb::util::Status s = pb::util::MessageToJsonString(msg, &out, opts);
    if (!s.ok()) return "";
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  void DecodeDetails(const std::string& bytes, DynamicCallResult* r) {
    google::rpc::Status status;
    if (bytes.empty() || !status.ParseFromString(bytes)) return;
    for (const auto& any : status.details()) {
      DynamicCallResult::Detail d;
      const std::string& url = any.type_url();
      d.type = url.substr(url.rfind('/') + 1);
      if (d.type == "google.rpc.BadRequest") {
        google::rpc::BadRequest br;
        if (any.UnpackTo(&br)) {
          for (const auto& v : br.field_violations()) {
            r->field_violations.push_back({v.field(), v.description()});
          }
        }
      }
      const pb::Descriptor* type =
          pb::DescriptorPool::generated_pool()->FindMessageTypeByName(d.type);
      std::unique_ptr<pb::Message> msg;
      if (type != nullptr) {
        msg.reset(pb::MessageFactory::generated_factory()->GetPrototype(type)->New());
      } else if (db.EnsureSymbol(d.type).ok()) {
        if (const pb::Descriptor* t = pool.FindMessageTypeByName(d.type)) {
          msg.reset(factory.GetPrototype(t)->New());
        }
      }
      if (msg != nullptr && msg->ParseFromString(any.value())) d.json = ToJson(*msg);
      r->details.push_back(std::move(d));
    }
  }

  DynamicCallResult Call(const std::string& method, const std::string& json,
                         const DynamicMetadata& metadata,
                         std::optional<std::chrono::milliseconds> timeout) {
    const pb::MethodDescriptor& m = FindMethod(method);
    const std::vector<std::string> requests = BuildRequests(factory, m, json);
    const auto budget = timeout.value_or(options.default_timeout);
    if (budget.count() <= 0) throw InvalidArgument("the call's timeout must be positive");

    grpc::ClientContext ctx;
    const auto deadline = Clock::now() + budget;
    ctx.set_deadline(deadline);
    for (const auto& [k, v] : options.metadata) AddMetadata(ctx, k, v);
    for (const auto& [k, v] : metadata) AddMetadata(ctx, k, v);

    grpc::CompletionQueue cq;
    const std::string path = "/" + m.service()->full_name() + "/" + m.name();
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
        generic.PrepareCall(&ctx, path, &cq);
    void* const kStart = reinterpret_cast<void*>(1);
    void* const kWrite = reinterpret_cast<void*>(2);
    void* const kRead = reinterpret_cast<void*>(3);
    void* const kFinish = reinterpret_cast<void*>(4);

    std::vector<grpc::ByteBuffer> out_buffers;
    for (const auto& r : requests) {
      grpc::Slice slice(r);
      out_buffers.emplace_back(&slice, 1);
    }
    std::vector<grpc::ByteBuffer> received;
    grpc::ByteBuffer read_buffer;

    // Every operation completes by the deadline (gRPC fails it then); the slack is a
    // second line of defence that cancels the call should the queue stay silent.
    const auto give_up = deadline + std::chrono::seconds(5);
    int cancels = 0;
    auto next = [&](void** tag, bool* ok) {
      for (int turn = 0; turn < 4; ++turn) {
        auto st =
            cq.AsyncNext(tag, ok, cancels == 0 ? give_up : Clock::now() + std::chrono::seconds(5));
        if (st == grpc::CompletionQueue::GOT_EVENT) return true;
        if (st == grpc::CompletionQueue::SHUTDOWN) return false;
        ctx.TryCancel();
        ++cancels;
      }
      return false;
    };

    call->StartCall(kStart);
    void* tag = nullptr;
    bool ok = false;
    bool started = next(&tag, &ok) && ok;
    int pending = 0;
    size_t sent = 0;
    bool writes_done = false;
    auto write_next = [&] {
      if (sent < out_buffers.size()) {
        call->Write(out_buffers[sent++], kWrite);
      } else {
        call->WritesDone(kWrite);
        writes_done = true;
      }
      ++pending;
    };
    if (started) {
      write_next();
      call->Read(&read_buffer, kRead);
      ++pending;
    }
    for (size_t turns = 0; pending > 0 && turns < 1000000; ++turns) {
      if (!next(&tag, &ok)) break;
      --pending;
      if (tag == kWrite) {
        if (ok && !writes_done) write_next();
      } else if (tag == kRead) {
        if (ok) {
          received.push_back(read_buffer);
          read_buffer.Clear();
          call->Read(&read_buffer, kRead);
          ++pending;
        }
      }
    }
    grpc::Status status;
    if (pending == 0) {
      call->Finish(&status, kFinish);
      if (!next(&tag, &ok)) {
        status = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "the call did not finish");
      }
    } else {
      status = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "the call did not finish");
    }
    cq.Shutdown();
    for (int n = 0; n < 100 && cq.Next(&tag, &ok); ++n) {
    }

    DynamicCallResult r;
    r.code = status.error_code();
    r.message = status.error_message();
    if (r.code == grpc::StatusCode::UNAVAILABLE && r.message.find(target) == std::string::npos) {
      r.message = "cannot reach " + target + ": " + r.message;
    }
    if (r.code == grpc::StatusCode::DEADLINE_EXCEEDED && Clock::now() >= deadline) {
      r.message += " (timeout " + std::to_string(budget.count()) + " ms)";
    }
    DecodeDetails(status.error_details(), &r);
    const pb::Message* prototype = factory.GetPrototype(m.output_type());
    for (size_t i = 0; i < received.size(); ++i) {
      std::vector<grpc::Slice> slices;
      std::string bytes;
      if (received[i].Dump(&slices).ok()) {
        for (const auto& s : slices)
          bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      std::unique_ptr<pb::Message> msg(prototype->New());
      if (!msg->ParseFromString(bytes)) {
        if (r.ok()) {
          r.code = grpc::StatusCode::INTERNAL;
          r.message = "response #" + std::to_string(i + 1) + " does not parse as " +
                      m.output_type()->full_name();
        }
        break;
      }
      r.responses.push_back(ToJson(*msg));
    }
    if (started) {
      r.initial_metadata = ToMetadata(ctx.GetServerInitialMetadata());
      r.trailing_metadata = ToMetadata(ctx.GetServerTrailingMetadata());
    }
    return r;
  }
};

std::unique_ptr<DynamicClient> DynamicClient::Connect(const std::string& address,
                                                      DynamicClientOptions options) {
  if (address.empty()) throw InvalidArgument("empty server address; expected host:port");
  grpc::ChannelArguments args;
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.root_ca_file.empty()) ssl.pem_root_certs = ReadPemFile(options.root_ca_file, "CA");
    if (options.cert_file.empty() != options.key_file.empty()) {
      throw InvalidArgument("a client certificate needs both a certificate and a key file");
    }
    if (!options.cert_file.empty()) {
      ssl.pem_cert_chain = ReadPemFile(options.cert_file, "certificate");
      ssl.pem_private_key = ReadPemFile(options.key_file, "key");
    }
    if (!options.server_name.empty()) args.SetSslTargetNameOverride(options.server_name);
    creds = grpc::SslCredentials(ssl);
  } else {
    if (!options.root_ca_file.empty() || !options.cert_file.empty() || !options.key_file.empty() ||
        !options.server_name.empty()) {
      throw InvalidArgument("CA, certificate, key and server name options need TLS");
    }
    creds = grpc::InsecureChannelCredentials();
  }
  auto channel = grpc::CreateCustomChannel(address, creds, args);
  return std::make_unique<DynamicClient>(std::move(channel), std::move(options), address);
}

DynamicClient::DynamicClient(std::shared_ptr<grpc::Channel> channel, DynamicClientOptions options,
                             std::string target)
    : impl_(std::make_unique<Impl>(std::move(channel), std::move(options), std::move(target))) {
  if (impl_->options.default_timeout.count() <= 0) {
    throw InvalidArgument("the default timeout must be positive");
  }
}

DynamicClient::~DynamicClient() = default;

const DynamicClientOptions& DynamicClient::options() const { return impl_->options; }

std::vector<std::string> DynamicClient::ListServices() { return impl_->ListServices(); }

std::vector<DynamicMethodInfo> DynamicClient::Methods(const std::string& service) {
  const pb::ServiceDescriptor& s = impl_->FindService(service);
  std::vector<DynamicMethodInfo> out;
  for (int i = 0; i < s.method_count(); ++i)
    out.push_back(Method(s.full_name() + "/" + s.method(i)->name()));
  return out;
}

DynamicMethodInfo DynamicClient::Method(const std::string& method) {
  const pb::MethodDescriptor& m = impl_->FindMethod(method);
  DynamicMethodInfo info;
  info.service = m.service()->full_name();
  info.name = m.name();
  info.full_name = info.service + "/" + info.name;
  info.request_type = m.input_type()->full_name();
  info.response_type = m.output_type()->full_name();
  info.client_streaming = m.client_streaming();
  info.server_streaming = m.server_streaming();
  return info;
}

std::string DynamicClient::DescribeService(const std::string& service) {
  const pb::ServiceDescriptor& s = impl_->FindService(service);
  std::string out = "// " + s.full_name() + " (" + s.file()->name() + ")\n";
  out += "service " + s.name() + " {\n";
  for (int i = 0; i < s.method_count(); ++i) {
    const pb::MethodDescriptor& m = *s.method(i);
    out +=
        "  " + RpcLine(m) + "  // " + KindName(m.client_streaming(), m.server_streaming()) + "\n";
  }
  out += "}\n";
  return out;
}

std::string DynamicClient::DescribeMethod(const std::string& method) {
  const pb::MethodDescriptor& m = impl_->FindMethod(method);
  std::string out = "// " + m.service()->full_name() + "/" + m.name() + ": " +
                    KindName(m.client_streaming(), m.server_streaming()) + "\n";
  out += RpcLine(m) + "\n";
  std::vector<const void*> seen;
  std::vector<const pb::Descriptor*> messages;
  std::vector<const pb::EnumDescriptor*> enums;
  CollectTypes(m.input_type(), &seen, &messages, &enums);
  CollectTypes(m.output_type(), &seen, &messages, &enums);
  for (const pb::Descriptor* d : messages) {
    out += "\n// " + d->full_name() + "\n";
    PrintMessage(*d, "", &out);
  }
  for (const pb::EnumDescriptor* e : enums) {
    out += "\n// " + e->full_name() + "\n";
    PrintEnum(*e, "", &out);
  }
  for (const pb::Descriptor* d : {m.input_type(), m.output_type()}) {
    if (d->file()->package() == "google.protobuf") {
      out += "\n// " + d->full_name() + ": a protobuf well-known type\n";
    }
  }
  return out;
}

std::string DynamicClient::Describe(const std::string& symbol) {
  std::string s = symbol;
  if (!s.empty() && s[0] == '/') s.erase(0, 1);
  if (s.find('/') != std::string::npos) return DescribeMethod(s);
  return DescribeService(s);
}

DynamicCallResult DynamicClient::Call(const std::string& method, const std::string& json_request,
                                      const DynamicMetadata& metadata,
                                      std::optional<std::chrono::milliseconds> timeout) {
  return impl_->Call(method, json_request, metadata, timeout);
}

std::chrono::milliseconds ParseTimeout(const std::string& text) {
  static const std::regex kTimeout(R"(^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, kTimeout)) {
    throw InvalidArgument("invalid timeout '" + text + "'; expected e.g. 500ms, 5s, 2m, 1h");
  }
  double value = std::stod(m[1].str());
  const std::string unit = m[2].str();
  double ms = unit == "ms"  ? value
              : unit == "m" ? value * 60000
              : unit == "h" ? value * 3600000
                            : value * 1000;
  if (ms < 1) throw InvalidArgument("invalid timeout '" + text + "'; it must be at least 1ms");
  if (ms > 1e12) throw InvalidArgument("invalid timeout '" + text + "'; too long");
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

}  // namespace rpcforge
