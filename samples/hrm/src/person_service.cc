// SPDX-License-Identifier: Apache-2.0
#include "person_service.h"

#include <rpcforge/app.h>
#include <rpcforge/db/registry.h>

namespace hrm {

const rpcforge::db::Model& PersonModel() {
  using namespace rpcforge::db;
  static const Model model("hrm.person", {
                                             CharField("name", 100),
                                             CharField("email", 254).Email().Null(),
                                             IntegerField("salary").MinValue(0).Default(0),
                                         });
  return model;
}

RPCFORGE_REGISTER_APP(hrm, [](rpcforge::db::App& app) { app.AddModel(PersonModel()); });
RPCFORGE_REGISTER_SERVICE(PersonService);

}  // namespace hrm
