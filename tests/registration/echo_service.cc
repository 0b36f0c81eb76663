// SPDX-License-Identifier: Apache-2.0
// A service that only registers itself: nothing else references this file.
#include <rpcforge/app.h>

#include "server/testdata/echo.rpcforge.h"

namespace {
class RegisteredEcho : public rpcforge::test::EchoServiceBase {};
}  // namespace

RPCFORGE_REGISTER_SERVICE(RegisteredEcho);
