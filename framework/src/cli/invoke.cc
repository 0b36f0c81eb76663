// SPDX-License-Identifier: Apache-2.0
// `invoke`: list, describe and call the methods of any gRPC server with reflection,
// requests and responses in JSON (rpcforge::DynamicClient).
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "core/strings.h"
#include "rpcforge/client/dynamic_client.h"
#include "rpcforge/errors.h"

namespace rpcforge::cli_internal {
namespace {

constexpr int kRpcError = 1;
constexpr int kUsageError = 2;

struct InvokeFlags {
  std::string address;
  // Separate string positionals: CLI11 splits a "[...]" value of a vector option at
  // commas, which would break a JSON array request.
  std::string action;
  std::string argument;
  std::string data;  // -d: the request, as grpcurl takes it ("@" = stdin)
  bool plaintext = false;
  bool insecure = false;
  std::vector<std::string> headers;
  std::string api_key;
  std::string timeout;
  bool tls = false;
  std::string ca;
  std::string cert;
  std::string key;
  std::string server_name;
  bool pretty = false;
  bool emit_defaults = false;
  bool proto_names = false;
  bool verbose = false;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string Base64(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void PrintMetadata(std::ostream& os, const char* title, const DynamicMetadata& md) {
  if (md.empty()) return;
  os << title << ":\n";
  for (const auto& [k, v] : md) {
    const bool binary = k.size() > 4 && k.compare(k.size() - 4, 4, "-bin") == 0;
    os << "  " << k << ": " << (binary ? Base64(v) : v) << "\n";
  }
}

DynamicClientOptions OptionsFrom(const InvokeFlags& f) {
  DynamicClientOptions o;
  if (!f.timeout.empty()) o.default_timeout = ParseTimeout(f.timeout);
  for (const auto& h : f.headers) {
    size_t colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      throw UsageError("-H '" + h + "': expected key:value");
    }
    std::string value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    o.metadata.emplace_back(h.substr(0, colon), value);
  }
  if (!f.api_key.empty()) o.metadata.emplace_back("x-api-key", f.api_key);
  o.tls = f.tls;
  o.root_ca_file = f.ca;
  o.cert_file = f.cert;
  o.key_file = f.key;
  o.server_name = f.server_name;
  o.pretty = f.pretty;
  o.emit_defaults = f.emit_defaults;
  o.proto_field_names = f.proto_names;
  return o;
}

// RequestText: the JSON argument, "@FILE" (read the file) or "@-" / "-" (stdin).
std::string RequestText(const std::string& arg) {
  if (arg == "-" || arg == "@-") {
    std::ostringstream s;
    s << std::cin.rdbuf();
    return s.str();
  }
  if (!arg.empty() && arg[0] == '@') {
    std::string text;
    if (!strings::ReadFile(arg.substr(1), &text)) {
      throw UsageError("cannot read the request file '" + arg.substr(1) + "'");
    }
    return text;
  }
  return arg;
}

int Run(const InvokeFlags& f, CommandEnv& env) {
  std::ostream& out = *env.out;
  std::ostream& err = *env.err;
  const std::string& action = f.action;
  if (action.empty()) throw UsageError("missing what to do: list, describe SYMBOL or a method");
  if (f.plaintext && f.tls) throw UsageError("--plaintext and --tls contradict each other");
  if (f.insecure) {
    throw UsageError(
        "--insecure (TLS without checking the server's certificate) is not supported: "
        "trust the server's CA with --tls --ca FILE, or use --plaintext");
  }
  auto client = DynamicClient::Connect(f.address, OptionsFrom(f));

  if (action == "list") {
    if (!f.argument.empty()) throw UsageError("list takes no arguments");
    for (const auto& s : client->ListServices()) out << s << "\n";
    return 0;
  }
  if (action == "describe") {
    if (!f.argument.empty()) {
      out << client->Describe(f.argument);
      return 0;
    }
    // Every service the server lists; one whose descriptors the server cannot give
    // (gRPC's built-in health service has none in C++) gets a note instead.
    bool first = true;
    for (const auto& s : client->ListServices()) {
      out << (first ? "" : "\n");
      first = false;
      try {
        out << client->DescribeService(s);
      } catch (const Error& e) {
        if (e.code() != grpc::StatusCode::NOT_FOUND) throw;
        out << "// " << s << ": the server has no descriptors for it\n";
      }
    }
    return 0;
  }
  if (!f.data.empty() && !f.argument.empty()) {
    throw UsageError("the request is given twice: -d and after the method; give one");
  }
  const std::string request =
      f.data.empty() ? RequestText(f.argument) : RequestText(f.data == "@" ? "-" : f.data);
  DynamicCallResult r = client->Call(action, request);
  if (f.verbose) PrintMetadata(err, "initial metadata", r.initial_metadata);
  for (const auto& response : r.responses) out << response << "\n";
  out.flush();
  if (f.verbose) PrintMetadata(err, "trailing metadata", r.trailing_metadata);
  if (!r.ok()) {
    err << r.ErrorText();
    return kRpcError;
  }
  return 0;
}

}  // namespace

std::vector<std::string> GrpcurlStyleArgs(std::vector<std::string> args) {
  // grpcurl spells its long flags with one dash; CLI11 would read "-plaintext" as
  // -p -l -a ...: after "invoke", these become their two-dash forms.
  static const char* const kLong[] = {"-plaintext", "-insecure", "-emit-defaults"};
  bool in_invoke = false;
  for (std::string& a : args) {
    if (a == "invoke") in_invoke = true;
    if (!in_invoke) continue;
    for (const char* flag : kLong) {
      if (a == flag) a = "-" + a;
    }
  }
  return args;
}

void RegisterInvokeCommand() {
  RegisterCommand(
      {"invoke", "Call any gRPC server through reflection: list, describe, call with JSON", 90,
       [](CLI::App& sub) {
         auto f = std::make_shared<InvokeFlags>();
         sub.add_option("address", f->address, "host:port of the server")->required();
         sub.add_option("action", f->action, "list | describe | pkg.Service/Method");
         sub.add_option("argument", f->argument,
                        "describe: pkg.Service[/Method]; a method: the request as JSON, "
                        "@FILE or - (stdin)");
         sub.add_option("-d,--data", f->data,
                        "the request, as grpcurl takes it: JSON, @FILE, or @ for stdin");
         sub.add_flag("--plaintext", f->plaintext, "no TLS (the default; grpcurl's -plaintext)");
         sub.add_flag("--insecure", f->insecure, "refused, with what to do instead");
         sub.add_option("-H,--header", f->headers, "metadata key:value (repeatable)")
             ->allow_extra_args(false);  // one value per -H, so flags may come first
         sub.add_option("--api-key", f->api_key, "send metadata x-api-key: KEY");
         sub.add_option("--timeout", f->timeout,
                        "deadline of each call: 500ms, 5s, 1m (default 10s)");
         sub.add_flag("--tls", f->tls, "use TLS (system roots unless --ca)");
         sub.add_option("--ca", f->ca, "PEM file with the root CA(s) to trust (TLS)");
         sub.add_option("--cert", f->cert, "PEM client certificate for mutual TLS");
         sub.add_option("--key", f->key, "PEM private key of --cert");
         sub.add_option("--server-name", f->server_name,
                        "name to verify in the server certificate (TLS)");
         sub.add_flag("--pretty", f->pretty, "indent the JSON responses");
         sub.add_flag("--emit-defaults", f->emit_defaults, "print fields with default values");
         sub.add_flag("--proto-names", f->proto_names, "print snake_case field names");
         sub.add_flag("-v,--verbose", f->verbose, "print response metadata to stderr");
         sub.footer(
             "Examples:\n"
             "  app invoke 127.0.0.1:50051 list\n"
             "  app invoke 127.0.0.1:50051 describe pkg.Service/Method\n"
             "  app invoke 127.0.0.1:50051 pkg.Service/Method '{\"id\": 1}' --api-key KEY\n"
             "Streaming requests: a JSON array, or objects one per line.\n"
             "Exit codes: 0 ok, 1 the call failed (status on stderr), 2 usage error.");
         return [f](CommandEnv& env) {
           try {
             return Run(*f, env);
           } catch (const UsageError& e) {
             *env.err << "error: " << e.what() << "\n";
             return kUsageError;
           } catch (const Error& e) {
             *env.err << "error: " << e.message() << "\n";
             const bool usage = e.code() == grpc::StatusCode::INVALID_ARGUMENT ||
                                e.code() == grpc::StatusCode::NOT_FOUND;
             return usage ? kUsageError : kRpcError;
           }
         };
       }});
}

}  // namespace rpcforge::cli_internal
