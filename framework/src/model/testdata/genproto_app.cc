// SPDX-License-Identifier: Apache-2.0
// An application with the test models and nothing else: the build runs its
// `generateproto` command to produce shop/v1/gadget.proto for generate_proto_test.cc.
#include "model/testdata/gadget_models.h"
#include "rpcforge/app.h"
#include "rpcforge/db/registry.h"

RPCFORGE_REGISTER_APP(modeltest, [](rpcforge::db::App& app) {
  app.AddModel(modeltest::MakerModel()).AddModel(modeltest::GadgetModel());
});

int main(int argc, char** argv) { return rpcforge::Main(argc, argv); }
