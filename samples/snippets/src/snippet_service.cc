// SPDX-License-Identifier: Apache-2.0
#include "snippet_service.h"

#include <rpcforge/app.h>
#include <rpcforge/db/registry.h>

namespace snippets {

const rpcforge::db::Model& SnippetModel() {
  using namespace rpcforge::db;
  static const Model model(
      "snippets.snippet",
      {
          CharField("title", 100).Null(),
          TextField("code"),
          BoolField("linenos").Default(false),
          CharField("language", 100).Choices({"python", "cpp", "go"}).Default("python"),
      });
  return model;
}

RPCFORGE_REGISTER_APP(snippets, [](rpcforge::db::App& app) { app.AddModel(SnippetModel()); });
RPCFORGE_REGISTER_SERVICE(SnippetService);

}  // namespace snippets
