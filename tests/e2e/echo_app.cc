// SPDX-License-Identifier: Apache-2.0
// An application binary serving the framework's test echo service (with the default
// middleware chain and database), for end-to-end tests of what a process does under
// kill -9, SIGTERM with stuck handlers, and bad input from real clients.
#include "rpcforge/app.h"
#include "server/testdata/echo_service.h"

RPCFORGE_REGISTER_SERVICE(rpcforge_test::EchoImpl);

int main(int argc, char** argv) { return rpcforge::Main(argc, argv); }
