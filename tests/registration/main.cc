// SPDX-License-Identifier: Apache-2.0
#include <rpcforge/app.h>

int main(int argc, char** argv) { return rpcforge::Main(argc, argv); }
