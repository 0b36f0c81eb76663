// SPDX-License-Identifier: Apache-2.0
// A Person service whose PartialUpdate takes wrappers or an update_mask.
#ifndef SAMPLES_HRM_SRC_PERSON_SERVICE_H_
#define SAMPLES_HRM_SRC_PERSON_SERVICE_H_

#include <rpcforge/db/model.h>
#include <rpcforge/model/generic_service.h>

#include "hrm/v1/person.rpcforge.h"

namespace hrm {

const rpcforge::db::Model& PersonModel();

class PersonService : public rpcforge::model::ModelService<v1::PersonControllerBase> {
 public:
  PersonService() : ModelService(PersonModel()) {}
};

}  // namespace hrm

#endif  // SAMPLES_HRM_SRC_PERSON_SERVICE_H_
