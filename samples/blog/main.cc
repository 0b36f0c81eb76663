// SPDX-License-Identifier: Apache-2.0
// The blog application: every command (serve, migrate, generateproto, ...) comes from
// rpcforge::Main.
#include <rpcforge/app.h>

int main(int argc, char** argv) { return rpcforge::Main(argc, argv); }
