// SPDX-License-Identifier: Apache-2.0
// rpcforge::DynamicClient (reflection, JSON calls of every kind, errors) and the
// `invoke` command, against the Echo test service in a TestServer.
#include "rpcforge/client/dynamic_client.h"

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "rpcforge/app.h"
#include "rpcforge/errors.h"
#include "rpcforge/server/middleware.h"
#include "rpcforge/testing/test_server.h"
#include "server/testdata/echo.pb.h"
#include "server/testdata/echo_service.h"

using rpcforge::DynamicCallResult;
using rpcforge::DynamicClient;
using rpcforge::DynamicClientOptions;
using rpcforge_test::EchoImpl;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

namespace {

constexpr char kEcho[] = "rpcforge.test.EchoService/Echo";

// Copies the x-api-key the client sent into the trailers, so tests can see it arrived.
class ApiKeyEcho : public rpcforge::Middleware {
 public:
  grpc::Status Handle(rpcforge::ServerCall& call, rpcforge::Next next) override {
    if (auto key = call.context().GetMetadata("x-api-key")) {
      call.context().AddTrailingMetadata("x-seen-api-key", *key);
    }
    return next();
  }
};

class DynamicClientTest : public ::testing::Test {
 protected:
  DynamicClientTest() {
    impl_ = app_.AddService<EchoImpl>();
    app_.RegisterMiddleware("api_key_echo", [](const rpcforge::MiddlewareEnv&) {
      return std::make_shared<ApiKeyEcho>();
    });
    rpcforge::testing::TestServerOptions options;
    options.app = &app_;
    options.listen_on_loopback = true;
    options.config = {{"middlewares", "api_key_echo"}};
    server_ = std::make_unique<rpcforge::testing::TestServer>(options);
  }

  std::unique_ptr<DynamicClient> Client(DynamicClientOptions options = {}) {
    if (options.default_timeout == std::chrono::milliseconds(10000)) {
      options.default_timeout = std::chrono::seconds(5);
    }
    return std::make_unique<DynamicClient>(server_->channel(), options, "in-process");
  }

  // Invoke runs `app invoke ARGS...` through the command line.
  int Invoke(std::vector<std::string> args) {
    args.insert(args.begin(), "invoke");
    out_.str("");
    err_.str("");
    rpcforge::App cli_app;
    return cli_app.Run(args, out_, err_);
  }

  rpcforge::App app_;
  std::shared_ptr<EchoImpl> impl_;
  std::unique_ptr<rpcforge::testing::TestServer> server_;
  std::ostringstream out_;
  std::ostringstream err_;
};

// FreePort returns a loopback port nothing listens on (bound, then closed).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

template <class F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const rpcforge::Error& e) {
    return std::string(rpcforge::StatusCodeName(e.code())) + ": " + e.message();
  }
  return "no error";
}

}  // namespace

// --- reflection ---------------------------------------------------------------------

TEST_F(DynamicClientTest, ListsServices) {
  EXPECT_THAT(Client()->ListServices(),
              ElementsAre("grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
                          "rpcforge.test.EchoService"));
}

TEST_F(DynamicClientTest, DescribesAService) {
  std::string text = Client()->DescribeService("rpcforge.test.EchoService");
  EXPECT_THAT(text, HasSubstr("service EchoService {\n"));
  EXPECT_THAT(text, HasSubstr("  rpc Echo(rpcforge.test.EchoRequest) returns "
                              "(rpcforge.test.EchoResponse);  // unary\n"));
  EXPECT_THAT(text, HasSubstr("  rpc Expand(rpcforge.test.EchoRequest) returns "
                              "(stream rpcforge.test.EchoResponse);  // server streaming\n"));
  EXPECT_THAT(text, HasSubstr("  rpc Collect(stream rpcforge.test.EchoRequest) returns "
                              "(rpcforge.test.EchoResponse);  // client streaming\n"));
  EXPECT_THAT(text, HasSubstr("  rpc Chat(stream rpcforge.test.EchoRequest) returns "
                              "(stream rpcforge.test.EchoResponse);  // bidi streaming\n"));
}

TEST_F(DynamicClientTest, DescribesAMethodWithItsMessages) {
  auto client = Client();
  std::string text = client->DescribeMethod("rpcforge.test.EchoService/Expand");
  EXPECT_THAT(text, HasSubstr("// rpcforge.test.EchoService/Expand: server streaming\n"));
  EXPECT_THAT(text, HasSubstr("// rpcforge.test.EchoRequest\nmessage EchoRequest {\n"));
  EXPECT_THAT(text, HasSubstr("  string message = 1;\n"));
  EXPECT_THAT(text, HasSubstr("  int32 sleep_ms = 5;  // JSON: \"sleepMs\"\n"));
  EXPECT_THAT(text, HasSubstr("  bool wait_for_release = 6;  // JSON: \"waitForRelease\"\n"));
  EXPECT_THAT(text, HasSubstr("// rpcforge.test.EchoResponse\nmessage EchoResponse {\n"));
  EXPECT_THAT(text, HasSubstr("  int64 remaining_ms = 5;"));

  std::string nested = client->Describe("rpcforge.test.EchoService/NestedTypes");
  EXPECT_THAT(nested, HasSubstr("rpc NestedTypes(rpcforge.test.Nested.Inner) returns "
                                "(rpcforge.test.Nested.Inner);"));
  EXPECT_THAT(nested, HasSubstr("message Nested {\n  message Inner {\n    string value = 1;\n"
                                "  }\n}\n"));

  rpcforge::DynamicMethodInfo chat = client->Method("rpcforge.test.EchoService.Chat");
  EXPECT_EQ(chat.full_name, "rpcforge.test.EchoService/Chat");
  EXPECT_EQ(chat.request_type, "rpcforge.test.EchoRequest");
  EXPECT_TRUE(chat.client_streaming);
  EXPECT_TRUE(chat.server_streaming);
  EXPECT_EQ(client->Methods("rpcforge.test.EchoService").size(), 6u);
}

TEST_F(DynamicClientTest, DescribesTheReflectionServiceItself) {
  EXPECT_THAT(Client()->Describe("grpc.reflection.v1alpha.ServerReflection"),
              HasSubstr("rpc ServerReflectionInfo(stream "));
}

// --- calls -----------------------------------------------------------------------------

TEST_F(DynamicClientTest, UnaryCallJsonInAndOut) {
  DynamicCallResult r = Client()->Call(kEcho, R"({"message": "hi"})");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_THAT(r.responses[0], HasSubstr(R"("message":"hi")"));
  EXPECT_THAT(r.responses[0], HasSubstr(R"("remainingMs":")"));  // int64: a JSON string
  EXPECT_THAT(r.initial_metadata, Contains(Pair("x-initial", "yes")));
  EXPECT_EQ(r.ErrorText(), "");

  // snake_case input names work too; an empty request is {}.
  r = Client()->Call(kEcho, R"({"sleep_ms": 1, "message": "x"})");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  r = Client()->Call(kEcho, "");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_THAT(r.responses[0], Not(HasSubstr("message")));
}

TEST_F(DynamicClientTest, PrintOptions) {
  DynamicClientOptions options;
  options.emit_defaults = true;
  options.proto_field_names = true;
  DynamicCallResult r = Client(options)->Call(kEcho, "{}");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_THAT(r.responses[0], AllOf(HasSubstr(R"("message":"")"), HasSubstr(R"("remaining_ms":)"),
                                    HasSubstr(R"("cancelled":false)")));
}

TEST_F(DynamicClientTest, ServerStreamingGivesOneJsonPerMessage) {
  DynamicCallResult r =
      Client()->Call("rpcforge.test.EchoService/Expand", R"({"message": "m", "count": 3})");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_THAT(r.responses, ElementsAre(R"({"message":"m"})", R"({"message":"m","index":1})",
                                       R"({"message":"m","index":2})"));
}

TEST_F(DynamicClientTest, ServerStreamingKeepsMessagesBeforeAnAbort) {
  DynamicCallResult r = Client()->Call("rpcforge.test.EchoService/Expand",
                                       R"({"message": "m", "count": 5, "abortAt": 2})");
  EXPECT_EQ(r.code, grpc::StatusCode::ABORTED);
  EXPECT_EQ(r.message, "stopped at 2");
  EXPECT_EQ(r.responses.size(), 2u);
}

TEST_F(DynamicClientTest, ClientStreamingTakesAnArrayOrOneObjectPerLine) {
  auto client = Client();
  DynamicCallResult r = client->Call("rpcforge.test.EchoService/Collect",
                                     R"([{"message": "a"}, {"message": "b"}, {"message": "c"}])");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_THAT(r.responses, ElementsAre(R"({"message":"abc","index":3})"));

  r = client->Call("rpcforge.test.EchoService/Collect",
                   "{\"message\": \"x\"}\n{\"message\": \"y\"}\n");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_THAT(r.responses, ElementsAre(R"({"message":"xy","index":2})"));

  r = client->Call("rpcforge.test.EchoService/Collect", "[]");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_THAT(r.responses, ElementsAre("{}"));
}

TEST_F(DynamicClientTest, BidiStreaming) {
  DynamicCallResult r = Client()->Call(
      "rpcforge.test.EchoService/Chat",
      R"([{"message": "one"}, {"message": "two, \"quoted\" ]"}, {"message": "three"}])");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_THAT(r.responses,
              ElementsAre(R"({"message":"one"})", R"({"message":"two, \"quoted\" ]","index":1})",
                          R"({"message":"three","index":2})"));
}

TEST_F(DynamicClientTest, BidiWithManyMessagesDoesNotDeadlock) {
  std::string json = "[";
  for (int i = 0; i < 300; ++i) {
    json += std::string(i ? "," : "") + R"({"message": ")" + std::string(2000, 'x') + "\"}";
  }
  json += "]";
  DynamicCallResult r = Client()->Call("rpcforge.test.EchoService/Chat", json);
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(r.responses.size(), 300u);
}

TEST_F(DynamicClientTest, SendsMetadata) {
  DynamicClientOptions options;
  options.metadata = {{"x-api-key", "k-123"}};
  DynamicCallResult r = Client(options)->Call(kEcho, "{}", {{"X-Echo", "one"}, {"x-echo", "two"}});
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_THAT(r.trailing_metadata, Contains(Pair("x-echo", "one")));
  EXPECT_THAT(r.trailing_metadata, Contains(Pair("x-echo", "two")));
  EXPECT_THAT(r.trailing_metadata, Contains(Pair("x-seen-api-key", "k-123")));

  r = Client()->Call(kEcho, "{}", {{"x-data-bin", std::string("\0\1\2", 3)}});
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_THAT(r.trailing_metadata, Contains(Pair("x-data-bin", std::string("\0\1\2", 3))));
}

TEST_F(DynamicClientTest, InvalidMetadataIsRejectedBeforeTheCall) {
  EXPECT_THAT(ErrorOf([&] {
                Client()->Call(kEcho, "{}", {{"bad key", "v"}});
              }),
              HasSubstr("INVALID_ARGUMENT: invalid metadata key 'bad key'"));
  EXPECT_THAT(ErrorOf([&] {
                Client()->Call(kEcho, "{}", {{"x-a", "line\nbreak"}});
              }),
              HasSubstr("printable ASCII"));
}

TEST_F(DynamicClientTest, ConcurrentCallsShareOneClient) {
  auto client = Client();
  std::vector<std::future<bool>> calls;
  for (int i = 0; i < 8; ++i) {
    calls.push_back(std::async(std::launch::async, [&client, i] {
      const std::string method = i % 2 ? "rpcforge.test.EchoService/Expand" : kEcho;
      DynamicCallResult r = client->Call(method, R"({"message": "m", "count": 2})");
      return r.ok() && r.responses.size() == (i % 2 ? 2u : 1u);
    }));
  }
  for (auto& c : calls) EXPECT_TRUE(c.get());
}

// --- errors ----------------------------------------------------------------------------

TEST_F(DynamicClientTest, ErrorStatusWithBadRequestDetailsIsDecoded) {
  DynamicCallResult r = Client()->Call(kEcho, R"({"fail": "validation"})");
  EXPECT_EQ(r.code, grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(r.field_violations.size(), 2u);
  EXPECT_EQ(r.field_violations[0].field, "message");
  EXPECT_EQ(r.field_violations[0].description, "This field may not be blank.");
  EXPECT_EQ(r.field_violations[1].field, "count");
  ASSERT_EQ(r.details.size(), 1u);
  EXPECT_EQ(r.details[0].type, "google.rpc.BadRequest");
  EXPECT_THAT(r.details[0].json, HasSubstr("fieldViolations"));
  EXPECT_THAT(r.responses, IsEmpty());
  const std::string text = r.ErrorText();
  EXPECT_THAT(text, HasSubstr("INVALID_ARGUMENT: "));
  EXPECT_THAT(text, HasSubstr("  field violations:\n"
                              "    message: This field may not be blank.\n"
                              "    count: Ensure this value is greater than or equal to 1.\n"));
}

TEST_F(DynamicClientTest, PlainErrorStatus) {
  DynamicCallResult r = Client()->Call(kEcho, R"({"fail": "not_found"})");
  EXPECT_EQ(r.code, grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(r.ErrorText(), "NOT_FOUND: Echo: 42 not found\n");
  r = Client()->Call("rpcforge.test.EchoService/Unimplemented", "{}");
  EXPECT_EQ(r.code, grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(DynamicClientTest, UnknownServiceOrMethodSuggestsTheClosest) {
  auto client = Client();
  EXPECT_EQ(ErrorOf([&] { client->Call("rpcforge.test.EchoServic/Echo", "{}"); }),
            "NOT_FOUND: unknown service 'rpcforge.test.EchoServic'; did you mean "
            "'rpcforge.test.EchoService'?");
  EXPECT_THAT(ErrorOf([&] { client->Call("no.Such/Thing", "{}"); }),
              AllOf(HasSubstr("NOT_FOUND: unknown service 'no.Such'; the server offers: "),
                    HasSubstr("rpcforge.test.EchoService")));
  EXPECT_EQ(ErrorOf([&] { client->Call("rpcforge.test.EchoService/Ecko", "{}"); }),
            "NOT_FOUND: unknown method 'Ecko' in service rpcforge.test.EchoService; did you "
            "mean 'Echo'?");
  EXPECT_THAT(ErrorOf([&] { client->DescribeMethod("rpcforge.test.EchoService/Zzzzzzzz"); }),
              HasSubstr("its methods: Echo, Expand, Collect, Chat, Unimplemented, NestedTypes"));
  EXPECT_THAT(ErrorOf([&] { client->DescribeService("rpcforge.test.EchoRequest"); }),
              HasSubstr("NOT_FOUND: 'rpcforge.test.EchoRequest' is not a service"));
  EXPECT_THAT(ErrorOf([&] { client->Call("Echo", "{}"); }),
              HasSubstr("INVALID_ARGUMENT: malformed method name 'Echo'"));
  // The client still works after failed lookups.
  EXPECT_TRUE(client->Call(kEcho, "{}").ok());
}

TEST_F(DynamicClientTest, MalformedJsonNamesThePositionOrField) {
  auto client = Client();
  EXPECT_EQ(ErrorOf([&] { client->Call(kEcho, R"({"message": })"); }),
            "INVALID_ARGUMENT: invalid JSON at line 1, column 13: unexpected '}'");
  EXPECT_EQ(ErrorOf([&] { client->Call(kEcho, "{\n  \"message\": \"x\"\n  \"count\": 1}"); }),
            "INVALID_ARGUMENT: invalid JSON at line 3, column 3: expected ',' or '}'");
  EXPECT_EQ(ErrorOf([&] { client->Call(kEcho, R"({"message": "x"} junk)"); }),
            "INVALID_ARGUMENT: invalid JSON at line 1, column 18: unexpected text after the "
            "JSON value");
  EXPECT_EQ(ErrorOf([&] { client->Call(kEcho, R"({message: "x"})"); }),
            "INVALID_ARGUMENT: invalid JSON at line 1, column 2: expected a field name in "
            "double quotes");
  EXPECT_THAT(ErrorOf([&] { client->Call(kEcho, R"({"mesage": "x"})"); }),
              AllOf(HasSubstr("mesage"), HasSubstr("did you mean 'message'?")));
  EXPECT_THAT(ErrorOf([&] { client->Call(kEcho, R"({"count": "many"})"); }),
              HasSubstr("INVALID_ARGUMENT: invalid JSON for rpcforge.test.EchoRequest: "
                        "(count): invalid value \"many\""));
  EXPECT_THAT(ErrorOf([&] { client->Call(kEcho, R"([{}])"); }),
              HasSubstr("takes one request message"));
  EXPECT_EQ(ErrorOf([&] {
              client->Call("rpcforge.test.EchoService/Collect",
                           "[{\"message\": \"a\"}\n {\"message\": \"b\"}]");
            }),
            "INVALID_ARGUMENT: invalid JSON at line 2, column 2: expected ',' or ']'");
  EXPECT_THAT(ErrorOf([&] {
                client->Call("rpcforge.test.EchoService/Collect",
                             "{\"message\": \"a\"}\n{\"mesage\": \"b\"}");
              }),
              HasSubstr("(request #2 at line 2, column 1)"));
  EXPECT_THAT(ErrorOf([&] { client->Call("rpcforge.test.EchoService/Chat", R"([{"a": "b)"); }),
              HasSubstr("unterminated string"));
}

TEST_F(DynamicClientTest, DeadlineIsReturnedInTheResult) {
  const auto start = std::chrono::steady_clock::now();
  DynamicCallResult r =
      Client()->Call(kEcho, R"({"sleepMs": 5000})", {}, std::chrono::milliseconds(200));
  EXPECT_EQ(r.code, grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(r.message, HasSubstr("(timeout 200 ms)"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(DynamicClient, UnreachableServerNamesTheAddress) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  DynamicClientOptions options;
  options.default_timeout = std::chrono::seconds(5);
  auto client = DynamicClient::Connect(address, options);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(ErrorOf([&] { client->ListServices(); }),
              HasSubstr("UNAVAILABLE: cannot reach " + address));
  EXPECT_THAT(ErrorOf([&] { client->Call(kEcho, "{}"); }),
              HasSubstr("UNAVAILABLE: cannot reach " + address));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(12));
}

TEST(DynamicClient, ServerWithoutReflection) {
  rpcforge::App app;
  app.AddService<EchoImpl>();
  rpcforge::testing::TestServerOptions options;
  options.app = &app;
  options.config = {{"server.reflection", "false"}};
  rpcforge::testing::TestServer server(options);
  DynamicClient client(server.channel());
  EXPECT_THAT(ErrorOf([&] { client.ListServices(); }),
              HasSubstr("UNIMPLEMENTED: the server does not offer server reflection"));
}

TEST(DynamicClient, ConnectValidatesTlsOptions) {
  DynamicClientOptions options;
  options.tls = true;
  options.root_ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(ErrorOf([&] { DynamicClient::Connect("127.0.0.1:1", options); }),
              HasSubstr("cannot read the CA file '/nonexistent/ca.pem'"));
  options.root_ca_file.clear();
  options.cert_file = "/nonexistent/cert.pem";
  EXPECT_THAT(ErrorOf([&] { DynamicClient::Connect("127.0.0.1:1", options); }),
              HasSubstr("both a certificate and a key"));
  DynamicClientOptions plain;
  plain.server_name = "localhost";
  EXPECT_THAT(ErrorOf([&] { DynamicClient::Connect("127.0.0.1:1", plain); }),
              HasSubstr("need TLS"));
}

TEST(DynamicClient, ParseTimeout) {
  using std::chrono::milliseconds;
  EXPECT_EQ(rpcforge::ParseTimeout("250ms"), milliseconds(250));
  EXPECT_EQ(rpcforge::ParseTimeout("5s"), milliseconds(5000));
  EXPECT_EQ(rpcforge::ParseTimeout("1.5"), milliseconds(1500));
  EXPECT_EQ(rpcforge::ParseTimeout("2m"), milliseconds(120000));
  EXPECT_THROW(rpcforge::ParseTimeout("soon"), rpcforge::InvalidArgument);
  EXPECT_THROW(rpcforge::ParseTimeout("0s"), rpcforge::InvalidArgument);
}

// --- the invoke command ------------------------------------------------------------------

TEST_F(DynamicClientTest, InvokeList) {
  EXPECT_EQ(Invoke({server_->address(), "list"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "grpc.health.v1.Health\ngrpc.reflection.v1alpha.ServerReflection\n"
            "rpcforge.test.EchoService\n");
}

TEST_F(DynamicClientTest, InvokeDescribe) {
  EXPECT_EQ(Invoke({server_->address(), "describe", "rpcforge.test.EchoService"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("service EchoService {"));
  EXPECT_EQ(Invoke({server_->address(), "describe", "rpcforge.test.EchoService/Collect"}), 0)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("message EchoRequest {"));
  EXPECT_EQ(Invoke({server_->address(), "describe"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("service ServerReflection {"));
}

TEST_F(DynamicClientTest, InvokeUnaryAndStreaming) {
  EXPECT_EQ(Invoke({server_->address(), "rpcforge.test.EchoService/Expand",
                    R"({"message": "hey", "count": 2})"}),
            0)
      << err_.str();
  EXPECT_EQ(out_.str(), "{\"message\":\"hey\"}\n{\"message\":\"hey\",\"index\":1}\n");
  EXPECT_EQ(err_.str(), "");

  EXPECT_EQ(Invoke({server_->address(), "rpcforge.test.EchoService/Collect",
                    R"([{"message": "a"}, {"message": "b"}])"}),
            0)
      << err_.str();
  EXPECT_EQ(out_.str(), "{\"message\":\"ab\",\"index\":2}\n");
}

TEST_F(DynamicClientTest, InvokeSendsHeadersAndApiKey) {
  EXPECT_EQ(Invoke({server_->address(), kEcho, "{}", "-H", "x-echo: hello", "--api-key", "secret-1",
                    "-v", "--timeout", "5s"}),
            0)
      << err_.str();
  EXPECT_THAT(err_.str(), HasSubstr("initial metadata:\n  x-initial: yes\n"));
  EXPECT_THAT(err_.str(), HasSubstr("trailing metadata:\n"));
  EXPECT_THAT(err_.str(), HasSubstr("  x-echo: hello\n"));
  EXPECT_THAT(err_.str(), HasSubstr("  x-seen-api-key: secret-1\n"));
}

// grpcurl's command lines work as they are: one-dash long flags, -d for the request,
// flags before the address, "k: v" headers; describe takes a message type too.
TEST_F(DynamicClientTest, InvokeTakesGrpcurlCommandLines) {
  EXPECT_EQ(Invoke({"-plaintext", "-d", R"({"message": "hi"})", "-H", "x-echo: a",
                    server_->address(), kEcho}),
            0)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("\"message\":\"hi\""));
  EXPECT_EQ(Invoke({"-emit-defaults", "-d", "{}", server_->address(), kEcho}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("\"index\":0"));
  EXPECT_EQ(Invoke({server_->address(), "describe", "rpcforge.test.EchoRequest"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("message EchoRequest {"));
  EXPECT_EQ(Invoke({server_->address(), "describe", "rpcforge.test.NoSuchType"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("NoSuchType"));

  EXPECT_EQ(Invoke({"-insecure", server_->address(), "list"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--insecure"));
  EXPECT_THAT(err_.str(), HasSubstr("--ca FILE"));
  EXPECT_EQ(Invoke({"-plaintext", "--tls", server_->address(), "list"}), 2);
  EXPECT_EQ(Invoke({"-d", "{}", server_->address(), kEcho, "{}"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("given twice"));
}

TEST_F(DynamicClientTest, InvokeRpcErrorExitsWithOne) {
  EXPECT_EQ(Invoke({server_->address(), kEcho, R"({"fail": "validation"})"}), 1) << err_.str();
  EXPECT_EQ(out_.str(), "");
  EXPECT_THAT(err_.str(), HasSubstr("INVALID_ARGUMENT: "));
  EXPECT_THAT(err_.str(), HasSubstr("    message: This field may not be blank.\n"));

  EXPECT_EQ(Invoke({server_->address(), kEcho, R"({"sleepMs": 3000})", "--timeout", "100ms"}), 1)
      << err_.str();
  EXPECT_THAT(err_.str(), HasSubstr("DEADLINE_EXCEEDED"));

  const int port = FreePort();
  EXPECT_EQ(Invoke({"127.0.0.1:" + std::to_string(port), "list", "--timeout", "5s"}), 1)
      << err_.str();
  EXPECT_THAT(err_.str(), HasSubstr("error: cannot reach 127.0.0.1:" + std::to_string(port)));
}

TEST_F(DynamicClientTest, InvokeUsageErrorsExitWithTwo) {
  EXPECT_EQ(Invoke({server_->address(), "rpcforge.test.EchoService/Ech", "{}"}), 2) << err_.str();
  EXPECT_THAT(err_.str(), HasSubstr("did you mean 'Echo'?"));
  EXPECT_EQ(Invoke({server_->address(), kEcho, "{nope"}), 2) << err_.str();
  EXPECT_THAT(err_.str(), HasSubstr("error: invalid JSON at line 1, column 2: "));
  EXPECT_EQ(Invoke({server_->address(), kEcho, "{}", "-H", "no-colon"}), 2) << err_.str();
  EXPECT_THAT(err_.str(), HasSubstr("expected key:value"));
  EXPECT_EQ(Invoke({server_->address(), kEcho, "{}", "--timeout", "soon"}), 2) << err_.str();
  EXPECT_EQ(Invoke({server_->address()}), 2) << err_.str();
  EXPECT_EQ(Invoke({server_->address(), kEcho, "{}", "extra"}), 2) << err_.str();
  EXPECT_EQ(Invoke({}), 2) << err_.str();
}

// --- client_internal::BuildRequests: Call's JSON -> request step, without a server
// (tests/fuzz/invoke_json_fuzzer drives it with arbitrary text).

namespace {

const google::protobuf::MethodDescriptor& EchoMethod(const std::string& name) {
  return *rpcforge::test::EchoRequest::descriptor()
              ->file()
              ->FindServiceByName("EchoService")
              ->FindMethodByName(name);
}

std::vector<std::string> Messages(const std::vector<std::string>& requests) {
  std::vector<std::string> out;
  for (const auto& bytes : requests) {
    rpcforge::test::EchoRequest r;
    EXPECT_TRUE(r.ParseFromString(bytes));
    out.push_back(r.message());
  }
  return out;
}

}  // namespace

TEST(DynamicClientBuildRequests, UnaryTakesOneObject) {
  using rpcforge::client_internal::BuildRequests;
  EXPECT_THAT(Messages(BuildRequests(EchoMethod("Echo"), R"({"message": "hi", "count": 2})")),
              ElementsAre("hi"));
  EXPECT_THAT(Messages(BuildRequests(EchoMethod("Expand"), "  ")), ElementsAre(""));
  try {
    BuildRequests(EchoMethod("Echo"), R"([{"message": "a"}])");
    FAIL() << "no error";
  } catch (const rpcforge::Error& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(e.what(), HasSubstr("not an array"));
  }
  try {
    BuildRequests(EchoMethod("Echo"), R"({"mesage": "a"})");
    FAIL() << "no error";
  } catch (const rpcforge::Error& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(e.what(), HasSubstr("did you mean 'message'?"));
  }
}

TEST(DynamicClientBuildRequests, StreamingTakesAnArrayOrConcatenatedObjects) {
  using rpcforge::client_internal::BuildRequests;
  EXPECT_THAT(Messages(BuildRequests(EchoMethod("Collect"), R"([{"message": "a"}, {}])")),
              ElementsAre("a", ""));
  EXPECT_THAT(
      Messages(BuildRequests(EchoMethod("Chat"), "{\"message\": \"x\"}\n{\"message\": \"y\"}")),
      ElementsAre("x", "y"));
  EXPECT_THAT(BuildRequests(EchoMethod("Collect"), ""), IsEmpty());
  try {
    BuildRequests(EchoMethod("Collect"), "[{}, {\"count\": \"many\"}]");
    FAIL() << "no error";
  } catch (const rpcforge::Error& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(e.what(), HasSubstr("request #2 at line 1, column 6"));
  }
}

// protobuf 3.21's JSON parser threw google::protobuf::FatalException ("CHECK failed:
// !done_") for an Any of a well-known type with an extra key, which escaped Call and
// `invoke` as an unexpected exception; found by tests/fuzz/invoke_json_fuzzer
// (corpus/invoke_json_fuzzer/regress_any_wkt_extra_key.json).
TEST(DynamicClientBuildRequests, ProtobufParserCheckFailuresAreInvalidArgument) {
  // A method taking google.protobuf.Any, in a pool of its own as the client builds
  // from reflection.
  google::protobuf::DescriptorPool pool(google::protobuf::DescriptorPool::generated_pool());
  google::protobuf::FileDescriptorProto file;
  file.set_name("rpcforge_test_any.proto");
  file.set_package("rpcforge.test.any");
  file.set_syntax("proto3");
  file.add_dependency("google/protobuf/any.proto");
  auto* service = file.add_service();
  service->set_name("AnyService");
  auto* m = service->add_method();
  m->set_name("Take");
  m->set_input_type(".google.protobuf.Any");
  m->set_output_type(".google.protobuf.Any");
  ASSERT_NE(pool.BuildFile(file), nullptr);
  const google::protobuf::MethodDescriptor& take =
      *pool.FindServiceByName("rpcforge.test.any.AnyService")->FindMethodByName("Take");

  EXPECT_THAT(
      rpcforge::client_internal::BuildRequests(
          take, R"({"@type": "type.googleapis.com/google.protobuf.Duration", "value": "2s"})"),
      testing::SizeIs(1));
  for (
      const char* json :
      {R"({"@type": "type.googleapis.com/google.protobuf.Duration", "value": "2s", "x": 1})",
       R"({"@type": "type.googleapis.com/google.protobuf.Timestamp", "a": {}, "value": "2024-01-01T00:00:00Z"})"}) {
    try {
      rpcforge::client_internal::BuildRequests(take, json);
      ADD_FAILURE() << "no error for " << json;
    } catch (const rpcforge::Error& e) {
      EXPECT_EQ(e.code(), grpc::StatusCode::INVALID_ARGUMENT) << json;
      EXPECT_THAT(e.what(), HasSubstr("invalid JSON for google.protobuf.Any: ")) << json;
    }
  }
}
