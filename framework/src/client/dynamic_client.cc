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

#include "client/internal.h"
#include "client/reflection_database.h"
#include "core/strings.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "rpcforge/errors.h"
#include "src/proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace rpcforge {
namespace client_internal {

std::string Suggest(const std::string& wanted, const std::vector<std::string>& candidates) {
  const std::string best = strings::ClosestMatch(wanted, candidates);
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

bool IsBinaryKey(const std::string& key) {
  return key.size() > 4 && key.compare(key.size() - 4, 4, "-bin") == 0;
}

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

}  // namespace client_internal

namespace {

namespace pb = google::protobuf;
using Clock = std::chrono::system_clock;
using client_internal::AddMetadata;
using client_internal::BuildRequestsWith;
using client_internal::CollectTypes;
using client_internal::KindName;
using client_internal::PrintEnum;
using client_internal::PrintMessage;
using client_internal::ReflectionDatabase;
using client_internal::RpcLine;
using client_internal::Suggest;
using strings::Join;

std::string ReadPemFile(const std::string& path, const char* what) {
  std::string text;
  if (!strings::ReadFile(path, &text)) {
    throw InvalidArgument(std::string("cannot read the ") + what + " file '" + path +
                          "': " + std::strerror(errno));
  }
  return text;
}

template <class Map>
DynamicMetadata ToMetadata(const Map& map) {
  DynamicMetadata out;
  for (const auto& [k, v] : map)
    out.emplace_back(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  return out;
}

}  // namespace

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
    const std::vector<std::string> requests = BuildRequestsWith(factory, m, json);
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

std::string DynamicClient::DescribeType(const std::string& type) {
  if (type.empty()) throw InvalidArgument("empty type name; expected pkg.Message");
  grpc::Status s = impl_->db.EnsureSymbol(type);
  if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
    impl_->ThrowReflectionError(s, "loading descriptors for " + type);
  }
  std::string out;
  if (const pb::Descriptor* d = impl_->pool.FindMessageTypeByName(type)) {
    out = "// " + d->full_name() + " (" + d->file()->name() + ")\n";
    PrintMessage(*d, "", &out);
    return out;
  }
  if (const pb::EnumDescriptor* e = impl_->pool.FindEnumTypeByName(type)) {
    out = "// " + e->full_name() + " (" + e->file()->name() + ")\n";
    PrintEnum(*e, "", &out);
    return out;
  }
  throw NotFound("unknown message or enum '" + type + "'");
}

std::string DynamicClient::Describe(const std::string& symbol) {
  std::string s = symbol;
  if (!s.empty() && s[0] == '/') s.erase(0, 1);
  if (s.find('/') != std::string::npos) return DescribeMethod(s);
  // A service, else a message or an enum (grpcurl's describe takes all three).
  const grpc::Status found = impl_->db.EnsureSymbol(s);
  if (found.ok() && impl_->pool.FindServiceByName(s) == nullptr &&
      (impl_->pool.FindMessageTypeByName(s) != nullptr ||
       impl_->pool.FindEnumTypeByName(s) != nullptr)) {
    return DescribeType(s);
  }
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
