// SPDX-License-Identifier: Apache-2.0
// django-grpc-framework's snippets tutorial with null support: a nullable title as a NullValue
// oneof.
#ifndef SAMPLES_SNIPPETS_SRC_SNIPPET_SERVICE_H_
#define SAMPLES_SNIPPETS_SRC_SNIPPET_SERVICE_H_

#include <rpcforge/db/model.h>
#include <rpcforge/model/generic_service.h>

#include "snippets/v1/snippet.rpcforge.h"

namespace snippets {

const rpcforge::db::Model& SnippetModel();

class SnippetService : public rpcforge::model::ModelService<v1::SnippetControllerBase> {
 public:
  SnippetService() : ModelService(SnippetModel()) {}
};

}  // namespace snippets

#endif  // SAMPLES_SNIPPETS_SRC_SNIPPET_SERVICE_H_
