// SPDX-License-Identifier: Apache-2.0
// The main loop of the load tests' bare baseline servers (bare_blog_server*.cc).
#ifndef RPCFORGE_TESTS_BENCH_LOAD_BARE_SERVER_MAIN_H_
#define RPCFORGE_TESTS_BENCH_LOAD_BARE_SERVER_MAIN_H_

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <signal.h>

#include <chrono>
#include <iostream>

namespace rpcforge::bench {

// ServeUntilSignal serves `service` on 127.0.0.1 (a port the kernel picks, with
// reflection so `invoke` can check it), prints "listening on 127.0.0.1:PORT", and
// returns 0 once SIGINT or SIGTERM arrives (1 when it cannot listen). Call it before
// any thread starts: it blocks those signals for the process's threads.
inline int ServeUntilSignal(grpc::Service& service) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "cannot listen\n";
    return 1;
  }
  std::cout << "listening on 127.0.0.1:" << port << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return 0;
}

}  // namespace rpcforge::bench

#endif  // RPCFORGE_TESTS_BENCH_LOAD_BARE_SERVER_MAIN_H_
