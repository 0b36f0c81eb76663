// SPDX-License-Identifier: Apache-2.0
// ReflectionDatabase: descriptors from server reflection (not installed).
#ifndef RPCFORGE_SRC_CLIENT_REFLECTION_DATABASE_H_
#define RPCFORGE_SRC_CLIENT_REFLECTION_DATABASE_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/internal.h"
#include "rpcforge/client/dynamic_client.h"
#include "src/proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace rpcforge::client_internal {

namespace pb = google::protobuf;
namespace refl = grpc::reflection::v1alpha;

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
    ctx.set_deadline(std::chrono::system_clock::now() + options_.default_timeout);
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

}  // namespace rpcforge::client_internal

#endif  // RPCFORGE_SRC_CLIENT_REFLECTION_DATABASE_H_
