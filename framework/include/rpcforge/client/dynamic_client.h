// SPDX-License-Identifier: Apache-2.0
// rpcforge::DynamicClient calls any method of any gRPC server without its .proto files:
// it reads the server's descriptors through server reflection (v1alpha), builds
// requests from JSON (protobuf's JSON mapping) and prints responses as JSON. It is the
// engine of `app invoke` and of the integration runner.
//
//   auto client = rpcforge::DynamicClient::Connect("127.0.0.1:50051");
//   for (const auto& s : client->ListServices()) std::cout << s << "\n";
//   std::cout << client->DescribeMethod("helloworld.Greeter/SayHello");
//   rpcforge::DynamicCallResult r =
//       client->Call("helloworld.Greeter/SayHello", R"({"name": "world"})");
//   if (r.ok()) std::cout << r.responses[0] << "\n"; else std::cerr << r.ErrorText();
#ifndef RPCFORGE_CLIENT_DYNAMIC_CLIENT_H_
#define RPCFORGE_CLIENT_DYNAMIC_CLIENT_H_

#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rpcforge/export.h"

namespace google::protobuf {
class MethodDescriptor;
}  // namespace google::protobuf

namespace grpc {
class Channel;
}  // namespace grpc

namespace rpcforge {

// DynamicMetadata is a list of (key, value) metadata entries, in order. Keys ending in
// "-bin" carry raw bytes; every other value is printable ASCII.
using DynamicMetadata = std::vector<std::pair<std::string, std::string>>;

// DynamicClientOptions: all optional.
struct DynamicClientOptions {
  // Deadline of every call that gives none, and of every reflection request.
  std::chrono::milliseconds default_timeout{10000};
  // Metadata sent with every call, reflection requests included (e.g. an API key).
  DynamicMetadata metadata;

  // TLS (Connect only). `tls` false: plaintext. With `tls`, `root_ca_file` (PEM)
  // replaces the system roots, `cert_file` + `key_file` (PEM) present a client
  // certificate (mutual TLS; both or neither), and `server_name` overrides the name
  // checked against the server certificate (e.g. "localhost" when dialing an IP).
  bool tls = false;
  std::string root_ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;

  // Response JSON: `pretty` indents it (default: one line per message),
  // `emit_defaults` prints fields that hold their default value,
  // `proto_field_names` prints `snake_case` names instead of `lowerCamelCase`.
  bool pretty = false;
  bool emit_defaults = false;
  bool proto_field_names = false;
};

// DynamicMethodInfo describes one method as the server's reflection reports it.
struct DynamicMethodInfo {
  std::string service;        // "pkg.Service"
  std::string name;           // "Method"
  std::string full_name;      // "pkg.Service/Method"
  std::string request_type;   // "pkg.Request"
  std::string response_type;  // "pkg.Response"
  bool client_streaming = false;
  bool server_streaming = false;
};

// DynamicCallResult is everything a call produced: status, responses and metadata.
// Responses received before a failure are kept (a stream that aborts midway).
struct DynamicCallResult {
  struct FieldViolation {
    std::string field;
    std::string description;
  };
  struct Detail {
    std::string type;  // full message name, e.g. "google.rpc.BadRequest"
    std::string json;  // the detail as JSON; "" when its type is unknown here
  };

  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  // Decoded from `google.rpc.Status` in `grpc-status-details-bin`: every detail, and
  // the field violations of any `google.rpc.BadRequest` among them.
  std::vector<Detail> details;
  std::vector<FieldViolation> field_violations;
  // One JSON document per response message, in order.
  std::vector<std::string> responses;
  DynamicMetadata initial_metadata;
  DynamicMetadata trailing_metadata;

  bool ok() const { return code == grpc::StatusCode::OK; }
  // ErrorText renders the status for people, e.g.
  //   INVALID_ARGUMENT: Invalid request
  //     field violations:
  //       message: This field may not be blank.
  // (one trailing newline); "" when ok().
  std::string ErrorText() const;
};

// DynamicClient. Errors that happen before a call is sent are thrown as
// rpcforge::Error (rpcforge/errors.h) with a message meant for people:
//   INVALID_ARGUMENT   malformed method name, JSON that does not parse or does not
//                      fit the request type (names the position or the field),
//                      invalid metadata, unreadable TLS files;
//   NOT_FOUND          unknown service or method (with the closest names);
//   UNAVAILABLE        the server cannot be reached (names the address);
//   DEADLINE_EXCEEDED  reflection did not answer in time;
//   UNIMPLEMENTED      the server has no reflection service;
//   other codes        reflection itself failed with that code.
// What happens on the wire (including UNAVAILABLE and DEADLINE_EXCEEDED for the call
// itself) is returned in DynamicCallResult, never thrown.
//
// Descriptors are fetched lazily and cached for the client's lifetime.
// Thread-safe: calls may run concurrently from many threads.
class RPCFORGE_EXPORT DynamicClient {
 public:
  // Connect creates a channel to `address` ("host:port", "unix:PATH", any gRPC
  // target); the connection itself is made on first use. Throws INVALID_ARGUMENT for
  // unreadable TLS files or a key without a certificate.
  static std::unique_ptr<DynamicClient> Connect(const std::string& address,
                                                DynamicClientOptions options = {});

  // Uses an existing channel (shared; e.g. TestServer::channel()). `target` names it in
  // error messages. Throws INVALID_ARGUMENT when `options.default_timeout` is not positive.
  explicit DynamicClient(std::shared_ptr<grpc::Channel> channel, DynamicClientOptions options = {},
                         std::string target = "the server");
  ~DynamicClient();
  DynamicClient(const DynamicClient&) = delete;
  DynamicClient& operator=(const DynamicClient&) = delete;

  // ListServices returns the full names of the services the server reports, sorted,
  // reflection and health included (callers filter).
  std::vector<std::string> ListServices();

  // Methods lists the methods of `service` ("pkg.Service") in declaration order.
  std::vector<DynamicMethodInfo> Methods(const std::string& service);
  // Method describes one method: "pkg.Service/Method" (also "pkg.Service.Method").
  DynamicMethodInfo Method(const std::string& method);

  // DescribeService returns readable text: the service in .proto syntax, one `rpc`
  // line per method with its streaming flags.
  std::string DescribeService(const std::string& service);
  // DescribeMethod returns readable text: the method's kind and signature, then the
  // request and response messages (and the messages and enums they use) in .proto
  // syntax, with field names, types, labels, numbers and nested types.
  std::string DescribeMethod(const std::string& method);
  // DescribeType prints a message or an enum ("pkg.Post") as proto text, nested types
  // included. Throws NotFound when the server knows no such type.
  std::string DescribeType(const std::string& type);
  // Describe is DescribeMethod for "pkg.Service/Method"; for a name it is
  // DescribeService when the name is a service, DescribeType when it is a message or
  // an enum.
  std::string Describe(const std::string& symbol);

  // Call sends the request(s) and waits for the end of the call.
  //   json_request: for a unary or server-streaming method one JSON object ("" = {});
  //     for a client- or bidi-streaming method the request stream as a JSON array of
  //     objects or as objects one after the other (e.g. one per line); "" = none.
  //   metadata: added to the client's default metadata; keys are lowercased.
  //   timeout: the call's deadline from now; unset = options.default_timeout.
  // Streaming requests are all sent, then the stream is half-closed; responses are
  // read concurrently, so bidi servers that answer as they go work too.
  DynamicCallResult Call(const std::string& method, const std::string& json_request,
                         const DynamicMetadata& metadata = {},
                         std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  const DynamicClientOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ParseTimeout parses "250ms", "5s", "2m", "1h" or a bare number of seconds ("1.5").
// Throws rpcforge::InvalidArgument for anything else or a value <= 0.
RPCFORGE_EXPORT std::chrono::milliseconds ParseTimeout(const std::string& text);

namespace client_internal {

// BuildRequests is the first step of `DynamicClient::Call` without the network: it
// turns `json_request` (as Call documents it: one JSON object for a method that is not
// client streaming, "" meaning {}; an array of objects or objects one after another
// for a client- or bidi-streaming one, "" meaning none) into the serialized request
// messages of `method`'s input type, in order. Throws rpcforge::InvalidArgument for
// JSON that does not parse (naming the line and column), is nested more than 100
// levels deep, or does not fit the request type (naming the field); nothing else for
// bad input. `method` may come from any descriptor pool and must outlive the call.
// Exposed for tests and tests/fuzz/invoke_json_fuzzer.cc; not a stable API.
// Thread-safe.
RPCFORGE_EXPORT std::vector<std::string> BuildRequests(
    const google::protobuf::MethodDescriptor& method, const std::string& json_request);

}  // namespace client_internal
}  // namespace rpcforge

#endif  // RPCFORGE_CLIENT_DYNAMIC_CLIENT_H_
