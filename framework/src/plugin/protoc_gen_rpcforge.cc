// SPDX-License-Identifier: Apache-2.0
// protoc-gen-rpcforge: for every service in a .proto, generates X.rpcforge.h with a
// base class `<Service>Base` whose virtual handlers take an `rpcforge::Context&` (the
// four shapes of DESIGN.md), and X.rpcforge.cc with the adapter that plugs it into a
// grpc::ServerBuilder through rpcforge::Dispatcher. The adapter derives from the
// ordinary grpc-generated `<Service>::Service`, so X.grpc.pb.h must be generated too.
#include <google/protobuf/compiler/code_generator.h>
#include <google/protobuf/compiler/plugin.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/printer.h>
#include <google/protobuf/io/zero_copy_stream.h>

#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using google::protobuf::compiler::GeneratorContext;
using google::protobuf::io::Printer;

std::string StripProto(const std::string& name) {
  const std::string ext = ".proto";
  if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
    return name.substr(0, name.size() - ext.size());
  }
  return name;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

// The C++ namespace of a package: "a.b" -> "::a::b".
std::string Namespace(const FileDescriptor* file) {
  if (file->package().empty()) return "";
  return "::" + Replace(file->package(), ".", "::");
}

// The C++ class of a message: nested names are joined with '_' (protobuf's rule).
std::string ClassName(const Descriptor* d) {
  std::string name = d->name();
  for (const Descriptor* p = d->containing_type(); p != nullptr; p = p->containing_type()) {
    name = p->name() + "_" + name;
  }
  return Namespace(d->file()) + "::" + name;
}

std::string GuardFor(const std::string& path) {
  std::string guard = "RPCFORGE_GENERATED_";
  for (char c : path) {
    guard += std::isalnum(static_cast<unsigned char>(c))
                 ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                 : '_';
  }
  return guard + "_";
}

enum class Kind { kUnary, kServerStreaming, kClientStreaming, kBidi };

Kind KindOf(const MethodDescriptor* m) {
  if (m->client_streaming()) return m->server_streaming() ? Kind::kBidi : Kind::kClientStreaming;
  return m->server_streaming() ? Kind::kServerStreaming : Kind::kUnary;
}

const char* KindEnum(Kind k) {
  switch (k) {
    case Kind::kUnary:
      return "::rpcforge::RpcKind::kUnary";
    case Kind::kServerStreaming:
      return "::rpcforge::RpcKind::kServerStreaming";
    case Kind::kClientStreaming:
      return "::rpcforge::RpcKind::kClientStreaming";
    case Kind::kBidi:
      return "::rpcforge::RpcKind::kBidiStreaming";
  }
  return "";
}

std::map<std::string, std::string> MethodVars(const MethodDescriptor* m) {
  return {{"method", m->name()},
          {"req", ClassName(m->input_type())},
          {"resp", ClassName(m->output_type())},
          {"full", "/" + m->service()->full_name() + "/" + m->name()}};
}

// One line per method: the handler's declaration in the base class.
void PrintHandlerDeclaration(Printer& p, const MethodDescriptor* m) {
  auto vars = MethodVars(m);
  switch (KindOf(m)) {
    case Kind::kUnary:
      p.Print(vars,
              "// Unary: /$full$\n"
              "virtual $resp$ $method$(::rpcforge::Context& ctx, const $req$& request);\n");
      break;
    case Kind::kServerStreaming:
      p.Print(vars,
              "// Server streaming: /$full$\n"
              "virtual void $method$(::rpcforge::Context& ctx, const $req$& request,\n"
              "                      ::rpcforge::Writer<$resp$>& writer);\n");
      break;
    case Kind::kClientStreaming:
      p.Print(vars,
              "// Client streaming: /$full$\n"
              "virtual $resp$ $method$(::rpcforge::Context& ctx,\n"
              "                        ::rpcforge::Reader<$req$>& reader);\n");
      break;
    case Kind::kBidi:
      p.Print(vars,
              "// Bidi streaming: /$full$\n"
              "virtual void $method$(::rpcforge::Context& ctx,\n"
              "                      ::rpcforge::Stream<$req$, $resp$>& stream);\n");
      break;
  }
}

void PrintHandlerDefault(Printer& p, const ServiceDescriptor* s, const MethodDescriptor* m) {
  auto vars = MethodVars(m);
  vars["base"] = s->name() + "Base";
  switch (KindOf(m)) {
    case Kind::kUnary:
      p.Print(vars, "$resp$ $base$::$method$(::rpcforge::Context&, const $req$&) {\n");
      break;
    case Kind::kServerStreaming:
      p.Print(vars,
              "void $base$::$method$(::rpcforge::Context&, const $req$&, "
              "::rpcforge::Writer<$resp$>&) {\n");
      break;
    case Kind::kClientStreaming:
      p.Print(vars,
              "$resp$ $base$::$method$(::rpcforge::Context&, ::rpcforge::Reader<$req$>&) {\n");
      break;
    case Kind::kBidi:
      p.Print(vars,
              "void $base$::$method$(::rpcforge::Context&, "
              "::rpcforge::Stream<$req$, $resp$>&) {\n");
      break;
  }
  p.Print(vars, "  throw ::rpcforge::Unimplemented(\"Method $full$ is not implemented\");\n}\n\n");
}

// The adapter registers every method with byte-buffer request and response types
// and parses and serializes the messages itself, inside the pipeline: a request that
// does not parse (bad wire format, invalid UTF-8) then reaches every middleware and
// ends INVALID_ARGUMENT with a row in the request log, instead of gRPC's bare
// INTERNAL before any rpcforge code ran.
void PrintAdapterMethod(Printer& p, const MethodDescriptor* m, int index) {
  auto vars = MethodVars(m);
  vars["index"] = std::to_string(index);
  switch (KindOf(m)) {
    case Kind::kUnary:
      p.Print(vars,
              "::grpc::Status $method$(::grpc::ServerContext* context,\n"
              "                        const ::grpc::ByteBuffer* raw_request,\n"
              "                        ::grpc::ByteBuffer* raw_response) {\n"
              "  $req$ request;\n"
              "  const bool parsed = ::rpcforge::server_internal::ParseMessage(*raw_request, "
              "&request);\n"
              "  return dispatcher_->Dispatch(context, methods_[$index$], &request,\n"
              "      [&](::rpcforge::ServerCall& call) {\n"
              "        if (!parsed) ::rpcforge::server_internal::ThrowUnparsable(request, 0);\n"
              "        const $resp$ response = impl_->$method$(call.context(), request);\n"
              "        call.RecordSent(response);\n"
              "        ::rpcforge::server_internal::SerializeMessage(response, raw_response);\n"
              "      });\n"
              "}\n");
      break;
    case Kind::kServerStreaming:
      p.Print(vars,
              "::grpc::Status $method$(::grpc::ServerContext* context,\n"
              "                        const ::grpc::ByteBuffer* raw_request,\n"
              "                        ::grpc::ServerWriter<::grpc::ByteBuffer>* writer) {\n"
              "  $req$ request;\n"
              "  const bool parsed = ::rpcforge::server_internal::ParseMessage(*raw_request, "
              "&request);\n"
              "  return dispatcher_->Dispatch(context, methods_[$index$], &request,\n"
              "      [&](::rpcforge::ServerCall& call) {\n"
              "        if (!parsed) ::rpcforge::server_internal::ThrowUnparsable(request, 0);\n"
              "        ::rpcforge::server_internal::GrpcWriter<$resp$> out(writer, &call);\n"
              "        impl_->$method$(call.context(), request, out);\n"
              "      });\n"
              "}\n");
      break;
    case Kind::kClientStreaming:
      p.Print(vars,
              "::grpc::Status $method$(::grpc::ServerContext* context,\n"
              "                        ::grpc::ServerReader<::grpc::ByteBuffer>* reader,\n"
              "                        ::grpc::ByteBuffer* raw_response) {\n"
              "  return dispatcher_->Dispatch(context, methods_[$index$], nullptr,\n"
              "      [&](::rpcforge::ServerCall& call) {\n"
              "        ::rpcforge::server_internal::GrpcReader<$req$> in(reader, &call);\n"
              "        const $resp$ response = impl_->$method$(call.context(), in);\n"
              "        call.RecordSent(response);\n"
              "        ::rpcforge::server_internal::SerializeMessage(response, raw_response);\n"
              "      });\n"
              "}\n");
      break;
    case Kind::kBidi:
      p.Print(vars,
              "::grpc::Status $method$(::grpc::ServerContext* context,\n"
              "    ::grpc::ServerReaderWriter<::grpc::ByteBuffer, ::grpc::ByteBuffer>* stream) {\n"
              "  return dispatcher_->Dispatch(context, methods_[$index$], nullptr,\n"
              "      [&](::rpcforge::ServerCall& call) {\n"
              "        ::rpcforge::server_internal::GrpcStream<$req$, $resp$> s(stream, &call);\n"
              "        impl_->$method$(call.context(), s);\n"
              "      });\n"
              "}\n");
      break;
  }
}

// PrintAddMethod registers method `m` of the adapter `adapter` with gRPC.
void PrintAddMethod(Printer& p, const MethodDescriptor* m, const std::string& adapter) {
  auto vars = MethodVars(m);
  vars["adapter"] = adapter;
  switch (KindOf(m)) {
    case Kind::kUnary:
      vars["type"] = "NORMAL_RPC";
      vars["handler"] = "RpcMethodHandler";
      vars["params"] = "const ::grpc::ByteBuffer* req, ::grpc::ByteBuffer* resp";
      vars["args"] = "req, resp";
      break;
    case Kind::kServerStreaming:
      vars["type"] = "SERVER_STREAMING";
      vars["handler"] = "ServerStreamingHandler";
      vars["params"] = "const ::grpc::ByteBuffer* req, ::grpc::ServerWriter<::grpc::ByteBuffer>* w";
      vars["args"] = "req, w";
      break;
    case Kind::kClientStreaming:
      vars["type"] = "CLIENT_STREAMING";
      vars["handler"] = "ClientStreamingHandler";
      vars["params"] = "::grpc::ServerReader<::grpc::ByteBuffer>* r, ::grpc::ByteBuffer* resp";
      vars["args"] = "r, resp";
      break;
    case Kind::kBidi:
      vars["type"] = "BIDI_STREAMING";
      vars["handler"] = "BidiStreamingHandler";
      vars["params"] = "::grpc::ServerReaderWriter<::grpc::ByteBuffer, ::grpc::ByteBuffer>* s";
      vars["args"] = "s";
      break;
  }
  p.Print(
      vars,
      "AddMethod(new ::grpc::internal::RpcServiceMethod(\n"
      "    \"$full$\", ::grpc::internal::RpcMethod::$type$,\n"
      "    new ::grpc::internal::$handler$<$adapter$, ::grpc::ByteBuffer, ::grpc::ByteBuffer>(\n"
      "        []($adapter$* self, ::grpc::ServerContext* ctx,\n"
      "           $params$) { return self->$method$(ctx, $args$); },\n"
      "        this)));\n");
}

// ImplementedBy<Impl>() tells, per method, whether `Impl` overrides the handler: the
// member pointer `&Impl::M` has the base's class type exactly when it does not.
// When `&Impl::M` is ill-formed (private, overloaded) the handler counts as
// implemented: only an overriding class can make it so.
void PrintImplementedBy(Printer& p, const ServiceDescriptor* s) {
  const std::string base = s->name() + "Base";
  p.Print(" private:\n");
  for (int j = 0; j < s->method_count(); ++j) {
    std::map<std::string, std::string> vars = {{"method", s->method(j)->name()}, {"base", base}};
    p.Print(vars,
            "template <class Impl, class = void>\n"
            "struct Overrides$method$ : std::true_type {};\n"
            "template <class Impl>\n"
            "struct Overrides$method$<Impl, std::void_t<decltype(&Impl::$method$)>>\n"
            "    : std::bool_constant<!std::is_same_v<decltype(&Impl::$method$),\n"
            "                                         decltype(&$base$::$method$)>> {};\n");
  }
  p.Print(
      "\n public:\n"
      "// ImplementedBy lists, in method order, which handlers `Impl` overrides (the\n"
      "// others answer UNIMPLEMENTED). App::AddService<Impl> records it for `check`.\n"
      "template <class Impl>\n"
      "static std::vector<bool> ImplementedBy() {\n"
      "  return {");
  for (int j = 0; j < s->method_count(); ++j) {
    p.Print("$sep$Overrides$method$<Impl>::value", "sep", j == 0 ? "" : ", ", "method",
            s->method(j)->name());
  }
  p.Print("};\n}\n");
}

class Generator : public google::protobuf::compiler::CodeGenerator {
 public:
  uint64_t GetSupportedFeatures() const override { return FEATURE_PROTO3_OPTIONAL; }

  bool Generate(const FileDescriptor* file, const std::string& parameter, GeneratorContext* context,
                std::string* error) const override {
    const std::string stem = StripProto(file->name());
    GenerateHeader(file, stem, context);
    GenerateSource(file, stem, context);
    return true;
  }

 private:
  static void OpenNamespace(Printer& p, const FileDescriptor* file) {
    if (!file->package().empty()) {
      p.Print("namespace $ns$ {\n\n", "ns", Replace(file->package(), ".", "::"));
    }
  }
  static void CloseNamespace(Printer& p, const FileDescriptor* file) {
    if (!file->package().empty()) {
      p.Print("}  // namespace $ns$\n", "ns", Replace(file->package(), ".", "::"));
    }
  }

  void GenerateHeader(const FileDescriptor* file, const std::string& stem,
                      GeneratorContext* context) const {
    std::unique_ptr<google::protobuf::io::ZeroCopyOutputStream> out(
        context->Open(stem + ".rpcforge.h"));
    Printer p(out.get(), '$');
    const std::string guard = GuardFor(stem + ".rpcforge.h");
    p.Print(
        "// Generated by protoc-gen-rpcforge from $file$. DO NOT EDIT.\n"
        "// For every service: `<Service>Base`, the class to derive handlers from.\n"
        "#ifndef $guard$\n#define $guard$\n\n"
        "#include <memory>\n#include <type_traits>\n#include <vector>\n\n"
        "#include <rpcforge/context.h>\n"
        "#include <rpcforge/errors.h>\n"
        "#include <rpcforge/server/service.h>\n"
        "#include <rpcforge/server/streams.h>\n\n"
        "#include \"$stem$.pb.h\"\n\n",
        "file", file->name(), "guard", guard, "stem", stem);
    OpenNamespace(p, file);
    for (int i = 0; i < file->service_count(); ++i) {
      const ServiceDescriptor* s = file->service(i);
      p.Print(
          "// $name$Base: derive from it and override the handlers you implement; the\n"
          "// others answer UNIMPLEMENTED. Handlers run concurrently on the server's worker\n"
          "// threads, so keep per-request state in the Context, not in members.\n"
          "class $name$Base : public ::rpcforge::Service {\n"
          " public:\n"
          "  static constexpr const char* kServiceName = \"$full$\";\n\n"
          "  $name$Base() = default;\n"
          "  ~$name$Base() override = default;\n\n"
          "  const char* service_full_name() const override { return kServiceName; }\n"
          "  const std::vector<::rpcforge::MethodInfo>& methods() const override;\n"
          "  std::unique_ptr<::grpc::Service> CreateAdapter(\n"
          "      ::rpcforge::Dispatcher& dispatcher) override;\n\n",
          "name", s->name(), "full", s->full_name());
      p.Indent();
      for (int j = 0; j < s->method_count(); ++j) {
        PrintHandlerDeclaration(p, s->method(j));
        p.Print("\n");
      }
      PrintImplementedBy(p, s);
      p.Outdent();
      p.Print("};\n\n");
    }
    CloseNamespace(p, file);
    p.Print("\n#endif  // $guard$\n", "guard", guard);
  }

  void GenerateSource(const FileDescriptor* file, const std::string& stem,
                      GeneratorContext* context) const {
    std::unique_ptr<google::protobuf::io::ZeroCopyOutputStream> out(
        context->Open(stem + ".rpcforge.cc"));
    Printer p(out.get(), '$');
    p.Print(
        "// Generated by protoc-gen-rpcforge from $file$. DO NOT EDIT.\n"
        "#include \"$stem$.rpcforge.h\"\n\n",
        "file", file->name(), "stem", stem);
    if (file->service_count() == 0) return;
    p.Print(
        "#include <google/protobuf/descriptor.h>\n"
        "#include <grpcpp/impl/rpc_service_method.h>\n"
        "#include <grpcpp/support/method_handler.h>\n"
        "#include <rpcforge/server/dispatcher.h>\n"
        "#include <rpcforge/server/internal/grpc_streams.h>\n\n"
        "#include \"$stem$.grpc.pb.h\"\n\n",
        "stem", stem);
    OpenNamespace(p, file);
    for (int i = 0; i < file->service_count(); ++i) {
      const ServiceDescriptor* s = file->service(i);
      std::map<std::string, std::string> vars = {{"name", s->name()},
                                                 {"full", s->full_name()},
                                                 {"count", std::to_string(s->method_count())}};
      p.Print(vars,
              "namespace {\n\n"
              "// Routes every method of $full$ through the rpcforge pipeline.\n"
              "class $name$Adapter final : public ::grpc::Service {\n"
              " public:\n"
              "  $name$Adapter($name$Base* impl, ::rpcforge::Dispatcher* dispatcher)\n"
              "      : impl_(impl), dispatcher_(dispatcher), methods_(impl->methods()) {\n");
      p.Indent();
      p.Indent();
      for (int j = 0; j < s->method_count(); ++j) {
        PrintAddMethod(p, s->method(j), s->name() + "Adapter");
      }
      p.Outdent();
      p.Print("}\n\n");
      for (int j = 0; j < s->method_count(); ++j) {
        PrintAdapterMethod(p, s->method(j), j);
        p.Print("\n");
      }
      p.Outdent();
      p.Print(vars,
              " private:\n"
              "  $name$Base* impl_;\n"
              "  ::rpcforge::Dispatcher* dispatcher_;\n"
              "  const std::vector<::rpcforge::MethodInfo>& methods_;\n"
              "};\n\n"
              "}  // namespace\n\n"
              "const std::vector<::rpcforge::MethodInfo>& $name$Base::methods() const {\n"
              "  static const std::vector<::rpcforge::MethodInfo>* methods =\n"
              "      ::rpcforge::Dispatcher::DescribeMethods(\"$full$\", {\n");
      for (int j = 0; j < s->method_count(); ++j) {
        const MethodDescriptor* m = s->method(j);
        p.Print("          {\"$method$\", $kind$},\n", "method", m->name(), "kind",
                KindEnum(KindOf(m)));
      }
      p.Print(vars,
              "      });\n"
              "  return *methods;\n"
              "}\n\n"
              "std::unique_ptr<::grpc::Service> $name$Base::CreateAdapter(\n"
              "    ::rpcforge::Dispatcher& dispatcher) {\n"
              "  return std::make_unique<$name$Adapter>(this, &dispatcher);\n"
              "}\n\n");
      for (int j = 0; j < s->method_count(); ++j) PrintHandlerDefault(p, s, s->method(j));
    }
    CloseNamespace(p, file);
  }
};

}  // namespace

int main(int argc, char* argv[]) {
  Generator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
