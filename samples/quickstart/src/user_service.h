// SPDX-License-Identifier: Apache-2.0
// django-grpc-framework's quickstart: an account.user ModelService.
#ifndef SAMPLES_QUICKSTART_SRC_USER_SERVICE_H_
#define SAMPLES_QUICKSTART_SRC_USER_SERVICE_H_

#include <rpcforge/db/model.h>
#include <rpcforge/model/generic_service.h>

#include "account/v1/user.rpcforge.h"

namespace account {

const rpcforge::db::Model& UserModel();

class UserService : public rpcforge::model::ModelService<v1::UserControllerBase> {
 public:
  UserService() : ModelService(UserModel()) {}
};

}  // namespace account

#endif  // SAMPLES_QUICKSTART_SRC_USER_SERVICE_H_
