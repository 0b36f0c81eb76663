// SPDX-License-Identifier: Apache-2.0
#include "user_service.h"

#include <rpcforge/app.h>
#include <rpcforge/db/registry.h>

namespace account {

const rpcforge::db::Model& UserModel() {
  using namespace rpcforge::db;
  static const Model model("account.user", {
                                               CharField("username", 150).Unique(),
                                               CharField("email", 254).Email().Blank().Default(""),
                                               BoolField("is_staff").Default(false),
                                               DateTimeField("date_joined").AutoNowAdd(),
                                           });
  return model;
}

RPCFORGE_REGISTER_APP(account, [](rpcforge::db::App& app) { app.AddModel(UserModel()); });
RPCFORGE_REGISTER_SERVICE(UserService);

}  // namespace account
