// SPDX-License-Identifier: Apache-2.0
// The snippets application: every command comes from rpcforge::Main.
#include <rpcforge/app.h>

int main(int argc, char** argv) { return rpcforge::Main(argc, argv); }
